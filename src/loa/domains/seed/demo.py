"""Demo data: real-looking agencies, staff logins and a few citizens, written through the domain services
(the same checks and side effects as the application), so the demo shows what users will see.

Every staff login uses DEMO_PASSWORD and a fixed TOTP secret (listed below and printed by the seed), so
that the README can list them. Never for production: anyone can read them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.agencies import service as agencies
from loa.domains.conversations import automation
from loa.domains.conversations import service as conversations  # also: the welcome message on follow
from loa.domains.conversations.automation import AutomationSettingsIn, KeywordRuleIn, OfficeHoursIn, OfficeRange
from loa.domains.conversations.content import Content, text_content
from loa.domains.conversations.writer import Draft, store_batch
from loa.domains.follows import service as follows
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.domains.reports import service as reports
from loa.domains.reports.models import ReportCategory, RoutingRule
from loa.kit.effects import commit

if TYPE_CHECKING:
    from loa.runtime import Runtime

DEMO_PASSWORD = "loa-demo-2025"  # noqa: S105 (published demo login)
DEMO_MARKER_HANDLE = "boyte"  # present ⇔ the demo data was loaded


@dataclass(frozen=True)
class Staff:
    email: str
    name: str
    totp_secret: str
    operator: bool = False
    roles: tuple[tuple[str, str], ...] = ()  # (account key, role)
    organisations: tuple[tuple[str, str], ...] = ()  # (organisation key, role)

    @property
    def totp_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.email, issuer_name=people.TOTP_ISSUER)


STAFF = (
    Staff("vanhanh@loa.example", "Vận hành Loa", "2D3MK4YRCAACLGJ3N5DCKDSI3UGIEEW7", operator=True),
    Staff("boyte@loa.example", "Trần Thu Hà (Bộ Y tế)", "5ZOZJQJZKKXRCNAE3ZNE34V6NIIA66FJ",
          roles=(("boyte", "owner"),)),
    Staff("bientap.boyte@loa.example", "Lê Minh Quân (biên tập, Bộ Y tế)", "HJYQCNXBTKN225KSBEADHKGUK3G6YTOC",
          roles=(("boyte", "editor"), ("syte-hanoi", "editor"))),
    Staff("csgt.hanoi@loa.example", "Phạm Đức Long (CSGT Hà Nội)", "EMKZQJGTPVS36RGGO5RJXU3Q5GLAO2RQ",
          roles=(("csgt-hanoi", "owner"), ("congan-badinh", "owner"))),
    Staff("hanoi@loa.example", "Nguyễn Thị Lan (UBND TP. Hà Nội)", "WQCDV3XZ3WD2Q6UCVD3PSO22VYK54MET",
          roles=(("ubnd-hanoi", "owner"), ("syte-hanoi", "owner"), ("sogd-hanoi", "owner"),
                 ("ubnd-hoankiem", "owner"), ("ubnd-caugiay", "owner"), ("ubnd-socson", "owner"),
                 ("thpt-chuvanan", "owner"), ("xanhpon", "owner"), ("evn-hanoi", "owner")),
          organisations=(("ubnd-hanoi", "owner"),)),
    Staff("badinh@loa.example", "Hoàng Văn Sơn (UBND Phường Ba Đình)", "PEWTKVCQ3QVRO3TSWGVJQWBPQWI4GKJ7",
          roles=(("ubnd-badinh", "owner"), ("ubnd-hoankiem", "admin"))),
    Staff("tiepdan.badinh@loa.example", "Vũ Ngọc Mai (tiếp dân, Phường Ba Đình)", "BOKESHXUKWXHLKFTMKLDSLDINT2TGO5D",
          roles=(("ubnd-badinh", "agent"),)),
    Staff("hcm@loa.example", "Võ Thanh Tâm (TP. Hồ Chí Minh)", "NRLHYBA4LTABN33BKD3YHID2KPFVOPEV",
          roles=(("ubnd-hcm", "owner"), ("syte-hcm", "owner"), ("ubnd-saigon", "owner")),
          organisations=(("ubnd-hcm", "owner"),)),
    Staff("danang@loa.example", "Huỳnh Văn Khoa (TP. Đà Nẵng)", "O2YF4QB4CRSS5BSI322QAGN4XUBEG3UJ",
          roles=(("ubnd-danang", "owner"), ("sokhcn-danang", "owner"), ("ubnd-haichau", "owner")),
          organisations=(("ubnd-danang", "owner"),)),
    Staff("chinhphu@loa.example", "Đinh Thị Yến (Thông tin Chính phủ)", "ZF74I3OJDKE7JAI55IE7AA6R5EHYJ4VG",
          roles=(("thongtin-chinhphu", "owner"), ("boyte", "viewer"))),
    Staff("nuocsach@loa.example", "Đặng Hữu Phúc (Nước sạch Hà Nội)", "INIXUHZYGUPCYKFWKEXSEPVSMLZGZOCZ",
          roles=(("nuocsach-hanoi", "owner"),)),
)

# (key, parent key, name, province)
ORGANISATIONS = (
    ("chinhphu", None, "Chính phủ", None),
    ("ubnd-hanoi", None, "UBND Thành phố Hà Nội", "01"),
    ("syte-hanoi", "ubnd-hanoi", "Sở Y tế Hà Nội", "01"),
    ("sogd-hanoi", "ubnd-hanoi", "Sở Giáo dục và Đào tạo Hà Nội", "01"),
    ("congan-hanoi", None, "Công an Thành phố Hà Nội", "01"),
    ("ubnd-hcm", None, "UBND Thành phố Hồ Chí Minh", "79"),
    ("ubnd-danang", None, "UBND Thành phố Đà Nẵng", "48"),
)

_HOURS = [{"days": "mon-fri", "open": "07:30", "close": "17:00"}]


@dataclass(frozen=True)
class DemoAccount:
    key: str  # also the handle
    name: str
    kind: str
    province_code: str
    commune_code: str | None = None
    organisation: str | None = None
    description: str = ""
    contacts: dict[str, Any] | None = None
    verified: bool = True


ACCOUNTS = (
    DemoAccount("boyte", "Bộ Y tế", "ministry", "01", organisation="chinhphu",
                description="Thông tin chính thức về y tế, phòng chống dịch bệnh, khám chữa bệnh và bảo hiểm y tế.",
                contacts={"hotline": "19009095", "website": "https://moh.gov.vn"}),
    DemoAccount("thongtin-chinhphu", "Thông tin Chính phủ", "government_office", "01", organisation="chinhphu",
                description="Thông tin chính thức từ Chính phủ: chính sách mới, chỉ đạo, điều hành.",
                contacts={"website": "https://baochinhphu.vn"}),
    DemoAccount("ubnd-hanoi", "UBND Thành phố Hà Nội", "provincial_committee", "01", organisation="ubnd-hanoi",
                description="Ủy ban nhân dân Thành phố Hà Nội.", contacts={"website": "https://hanoi.gov.vn"}),
    DemoAccount("syte-hanoi", "Sở Y tế Hà Nội", "provincial_department", "01", organisation="syte-hanoi",
                description="Thông tin y tế, lịch tiêm chủng, cảnh báo dịch bệnh trên địa bàn Thủ đô."),
    DemoAccount("sogd-hanoi", "Sở Giáo dục và Đào tạo Hà Nội", "provincial_department", "01",
                organisation="sogd-hanoi", description="Tuyển sinh, lịch thi, thông báo của ngành giáo dục Thủ đô."),
    DemoAccount("csgt-hanoi", "Phòng CSGT Công an TP. Hà Nội", "police", "01", organisation="congan-hanoi",
                description="Tiếp nhận phản ánh vi phạm giao thông, thông báo phân luồng, phạt nguội.",
                contacts={"hotline": "069.219.6000"}),
    DemoAccount("congan-badinh", "Công an phường Ba Đình", "police", "01", "00004", organisation="congan-hanoi",
                description="An ninh trật tự, cư trú, định danh điện tử trên địa bàn phường."),
    DemoAccount("ubnd-badinh", "UBND Phường Ba Đình", "commune_committee", "01", "00004", organisation="ubnd-hanoi",
                description="Thông báo, thủ tục hành chính và tiếp nhận phản ánh của người dân phường Ba Đình."),
    DemoAccount("ubnd-hoankiem", "UBND Phường Hoàn Kiếm", "commune_committee", "01", "00070",
                organisation="ubnd-hanoi", description="Ủy ban nhân dân phường Hoàn Kiếm."),
    DemoAccount("ubnd-caugiay", "UBND Phường Cầu Giấy", "commune_committee", "01", "00166",
                organisation="ubnd-hanoi", description="Ủy ban nhân dân phường Cầu Giấy."),
    DemoAccount("ubnd-socson", "UBND Xã Sóc Sơn", "commune_committee", "01", "00376", organisation="ubnd-hanoi",
                description="Ủy ban nhân dân xã Sóc Sơn."),
    DemoAccount("thpt-chuvanan", "Trường THPT Chu Văn An", "school", "01", "00103", organisation="sogd-hanoi",
                description="Thông báo của nhà trường tới phụ huynh và học sinh."),
    DemoAccount("xanhpon", "Bệnh viện Đa khoa Xanh Pôn", "hospital", "01", "00004", organisation="syte-hanoi",
                description="Lịch khám, đặt hẹn và thông tin sức khỏe."),
    DemoAccount("evn-hanoi", "Tổng công ty Điện lực TP. Hà Nội", "power", "01",
                description="Lịch tạm ngừng cấp điện, hóa đơn và chăm sóc khách hàng.",
                contacts={"hotline": "19001288"}),
    DemoAccount("nuocsach-hanoi", "Công ty Nước sạch Hà Nội", "water", "01",
                description="Lịch cắt nước, chất lượng nước và tiếp nhận sự cố.", verified=False),
    DemoAccount("ubnd-hcm", "UBND Thành phố Hồ Chí Minh", "provincial_committee", "79", organisation="ubnd-hcm",
                description="Ủy ban nhân dân Thành phố Hồ Chí Minh."),
    DemoAccount("syte-hcm", "Sở Y tế TP. Hồ Chí Minh", "provincial_department", "79", organisation="ubnd-hcm",
                description="Thông tin y tế của Thành phố Hồ Chí Minh."),
    DemoAccount("ubnd-saigon", "UBND Phường Sài Gòn", "commune_committee", "79", "26740", organisation="ubnd-hcm",
                description="Ủy ban nhân dân phường Sài Gòn."),
    DemoAccount("ubnd-danang", "UBND Thành phố Đà Nẵng", "provincial_committee", "48", organisation="ubnd-danang",
                description="Ủy ban nhân dân Thành phố Đà Nẵng."),
    DemoAccount("sokhcn-danang", "Sở Khoa học và Công nghệ Đà Nẵng", "provincial_department", "48",
                organisation="ubnd-danang", description="Chuyển đổi số, dịch vụ công trực tuyến của Đà Nẵng."),
    DemoAccount("ubnd-haichau", "UBND Phường Hải Châu", "commune_committee", "48", "20242",
                organisation="ubnd-danang", description="Ủy ban nhân dân phường Hải Châu."),
)

# (phone, name, home commune, followed account keys)
CITIZENS = (
    ("+84900000001", "Nguyễn Văn An", "00004", ("boyte", "ubnd-badinh", "congan-badinh", "csgt-hanoi", "xanhpon")),
    ("+84900000002", "Trần Thị Bình", "00004", ("boyte", "ubnd-badinh", "thongtin-chinhphu", "evn-hanoi")),
    ("+84900000003", "Lê Hoàng Châu", "00070", ("boyte", "ubnd-hoankiem", "csgt-hanoi", "ubnd-hanoi")),
    ("+84900000004", "Phạm Minh Dũng", "00166", ("ubnd-caugiay", "csgt-hanoi", "sogd-hanoi", "thpt-chuvanan")),
    ("+84900000005", "Hoàng Thu Hà", "00103", ("boyte", "thpt-chuvanan", "sogd-hanoi", "syte-hanoi")),
    ("+84900000006", "Vũ Đức Hải", "00376", ("boyte", "ubnd-socson", "ubnd-hanoi")),
    ("+84900000007", "Đặng Ngọc Lan", "26740", ("boyte", "ubnd-saigon", "ubnd-hcm", "syte-hcm")),
    ("+84900000008", "Bùi Quang Minh", "26740", ("ubnd-saigon", "thongtin-chinhphu")),
    ("+84900000009", "Huỳnh Thanh Nga", "20242", ("boyte", "ubnd-haichau", "ubnd-danang", "sokhcn-danang")),
    ("+84900000010", "Đỗ Văn Phong", "20242", ("ubnd-haichau", "ubnd-danang")),
)


async def has_demo(session: AsyncSession) -> bool:
    return await session.scalar(select(Account.id).where(Account.handle == DEMO_MARKER_HANDLE)) is not None


async def seed_demo(session: AsyncSession) -> list[Staff]:
    """Write the demo set in the session's transaction (the caller commits). Returns the staff logins."""
    organisations: dict[str, int] = {}
    for key, parent, name, province_code in ORGANISATIONS:
        organisation = await agencies.create_organisation(
            session, name=name, parent_id=organisations.get(parent) if parent else None, province_code=province_code)
        organisations[key] = organisation.id

    users: dict[str, User] = {}
    for staff in STAFF:
        user, _ = await people.set_staff_credentials(session, email=staff.email, password=DEMO_PASSWORD,
                                                     name=staff.name, operator=staff.operator)
        user.totp_secret = staff.totp_secret  # fixed, so that the README can list it
        users[staff.email] = user
    await session.flush()

    owners = {key: users[s.email] for s in STAFF for key, role in s.roles if role == "owner"}
    created: dict[str, Account] = {}
    for spec in ACCOUNTS:
        account = await accounts.create_account(
            session, name=spec.name, kind=spec.kind, province_code=spec.province_code,
            commune_code=spec.commune_code, handle=spec.key, description=spec.description,
            contacts=spec.contacts, office_hours=_HOURS,
            organisation_id=organisations.get(spec.organisation) if spec.organisation else None,
            owner=owners.get(spec.key))
        if spec.verified:
            await accounts.set_verified(session, account)
        created[spec.key] = account

    for staff in STAFF:
        for key, role in staff.roles:
            if role != "owner":
                await accounts.add_member(session, account_id=created[key].id, user_id=users[staff.email].id,
                                          role=role)
        for key, role in staff.organisations:
            await agencies.add_organisation_member(session, organisation_id=organisations[key],
                                                   user_id=users[staff.email].id, role=role)

    await accounts.apply_for_verification(
        session, account_id=created["nuocsach-hanoi"].id, user=owners["nuocsach-hanoi"],
        documents=[{"title": "Quyết định thành lập doanh nghiệp", "reference": "QĐ 1234/QĐ-UBND"},
                   {"title": "Giấy ủy quyền quản lý tài khoản", "reference": "GUQ-2025-07"}],
        note="Đề nghị xác minh tài khoản chính thức của Công ty Nước sạch Hà Nội.")

    await _automation(session, created, users)
    citizens: list[User] = []
    for phone, name, commune_code, followed in CITIZENS:
        citizen = User(phone=phone, display_name=name, home_commune_code=commune_code)
        session.add(citizen)
        await session.flush()
        await people.record_consent(session, citizen.id, purpose="service", granted=True, text_version="demo")
        for key in followed:
            await follows.follow(session, user=citizen, account_id=created[key].id)  # welcome messages too
        citizens.append(citizen)
    await _conversations(session, created, users, citizens)
    return list(STAFF)


async def _automation(session: AsyncSession, created: dict[str, Account], users: dict[str, User]) -> None:
    """Phường Ba Đình answers by itself: a welcome, keyword answers and canned replies for its agent."""
    account_id = created["ubnd-badinh"].id
    owner, agent = users["badinh@loa.example"], users["tiepdan.badinh@loa.example"]
    await conversations.set_automation(session, actor=owner, account_id=account_id, settings=AutomationSettingsIn(
        welcome_enabled=True,
        welcome_text="UBND Phường Ba Đình cảm ơn bạn đã quan tâm. Bạn có thể nhắn tin, gửi ảnh hoặc vị trí để "
                     "hỏi thủ tục hoặc phản ánh; cán bộ tiếp dân trả lời trong giờ hành chính.",
        out_of_hours_enabled=True, out_of_hours_text=automation.DEFAULT_OUT_OF_HOURS_TEXT,
        office_hours=OfficeHoursIn(days={day: [OfficeRange(start="07:30", end="11:30"),
                                               OfficeRange(start="13:30", end="17:00")]
                                         for day in automation.WEEKDAYS[:5]})))
    for priority, keywords, reply in (
        (10, ["tạm trú", "tạm vắng"],
         "Đăng ký tạm trú: nộp trực tuyến trên Cổng dịch vụ công quốc gia hoặc tại bộ phận một cửa của phường, "
         "mang theo căn cước và giấy tờ chứng minh chỗ ở hợp pháp."),
        (20, ["giờ làm việc", "lịch tiếp dân"],
         "Bộ phận một cửa làm việc sáng 7:30–11:30, chiều 13:30–17:00 từ thứ Hai đến thứ Sáu."),
    ):
        await conversations.create_rule(session, actor=owner, account_id=account_id,
                                        rule=KeywordRuleIn(priority=priority, keywords=keywords, reply=reply))
    for title, text in (
        ("Chào hỏi", "Chào anh/chị, cán bộ tiếp dân Phường Ba Đình xin trả lời như sau:"),
        ("Hẹn làm việc trực tiếp",
         "Mời anh/chị mang căn cước đến bộ phận một cửa, số 14 Đội Cấn, trong giờ hành chính."),
    ):
        await conversations.create_canned(session, actor=agent, account_id=account_id, title=title, text=text)


async def _conversations(session: AsyncSession, created: dict[str, Account], users: dict[str, User],
                         citizens: list[User]) -> None:
    """A few conversations in every state, as the inbox of a commune and of a police unit would have."""
    an, binh, chau = citizens[0], citizens[1], citizens[2]
    agent = users["tiepdan.badinh@loa.example"]
    police = users["csgt.hanoi@loa.example"]
    badinh, csgt, boyte = created["ubnd-badinh"].id, created["csgt-hanoi"].id, created["boyte"].id
    place = Content(kind="location", latitude=21.0338, longitude=105.8142, commune_code="00004",
                    text="Đèn tín hiệu hỏng ở ngã tư Kim Mã – Liễu Giai",
                    attachment={"commune_code": "00004", "commune_name": "Phường Ba Đình",
                                "province_code": "01", "province_name": "Thành phố Hà Nội"})
    drafts = [
        Draft("citizen", badinh, an.id, text_content("Cho tôi hỏi thủ tục đăng ký tạm trú cho người thuê nhà?")),
        Draft("staff", badinh, an.id, text_content("Chào anh, anh cần hợp đồng thuê nhà và căn cước của người thuê; "
                                                   "nộp trực tuyến được ạ."), sent_by=agent.id,
              sent_by_name=agent.display_name),
        Draft("citizen", badinh, binh.id, text_content("Vỉa hè trước số 25 Liễu Giai bị lấn chiếm, xe không đi được.")),
        Draft("citizen", csgt, chau.id, place),
        Draft("staff", csgt, chau.id, text_content("Cảm ơn anh đã báo, tổ công tác đang đến điều tiết."),
              sent_by=police.id, sent_by_name=police.display_name),
        Draft("citizen", boyte, binh.id,
              text_content("Lịch tiêm vắc-xin sởi cho trẻ 9 tháng tuổi ở Hà Nội thế nào ạ?")),
    ]
    for draft in drafts:  # one at a time: each answer comes after the question it answers
        await store_batch(session, [draft])


async def seed_reports(runtime: Runtime) -> None:
    """Reports in several states, as a commune and a traffic police unit would have them: traffic violations in
    Hà Nội go to the city's traffic police by a routing rule, everything else in Ba Đình to its committee."""
    async with runtime.session() as session:
        handles = ("ubnd-badinh", "csgt-hanoi")
        by_handle = {account.handle: account for account in (await session.scalars(
            select(Account).where(Account.handle.in_(handles)))).all()}
        emails = ("badinh@loa.example", "tiepdan.badinh@loa.example", "csgt.hanoi@loa.example")
        staff = {user.email: user for user in (await session.scalars(select(User).where(User.email.in_(emails)))).all()}
        phones = ("+84900000001", "+84900000002", "+84900000003")
        citizens = {user.phone: user for user in (await session.scalars(
            select(User).where(User.phone.in_(phones)))).all()}
        traffic = await session.scalar(select(ReportCategory).where(ReportCategory.code == "traffic_violation"))
        if traffic is None or len(by_handle) < 2:
            return
        session.add(RoutingRule(category_id=traffic.id, area_code="01", account_id=by_handle["csgt-hanoi"].id))
        await commit(session)
    an, binh, chau = (citizens[phone] for phone in phones)
    owner, agent, police = (staff[email] for email in emails)
    now = utcnow()
    days = timedelta(days=1)
    ba_dinh = {"latitude": 21.0369, "longitude": 105.8347}  # near Ba Đình square: the ward's own reports
    resolved = await reports.submit(
        runtime, reporter=an, category_code="road_damage", now=now - 9 * days, title="Ổ gà lớn trên phố Đội Cấn",
        description="Ổ gà sâu khoảng 20 cm trước số 120 Đội Cấn, xe máy đã ngã hai lần trong tuần.",
        fields={"size": "large", "danger": "yes"}, **ba_dinh)
    for action, extra, when in (("accept", {}, 9), ("assign", {"assignee_id": agent.id}, 8), ("start", {}, 8),
                                ("resolve", {"note": "Đã vá ổ gà và cắm biển cảnh báo trong lúc chờ khô."}, 6)):
        await reports.act(runtime, actor=owner if action == "assign" else agent, report_id=resolved.id,
                          action_name=action, now=now - when * days, **extra)
    await reports.rate(runtime, citizen=an, report_id=resolved.id, rating=5, comment="Xử lý nhanh, cảm ơn phường.",
                       now=now - 5 * days)
    waiting = await reports.submit(
        runtime, reporter=binh, category_code="waste", now=now - 2 * days, title="Rác đổ trộm ở ngõ 48 Liễu Giai",
        description="Có người đổ trộm xà bần và rác sinh hoạt đầu ngõ 48 Liễu Giai vào ban đêm.", **ba_dinh)
    for action, extra in (("accept", {}), ("assign", {"assignee_id": agent.id}), ("start", {}),
                          ("ask", {"note": "Anh/chị cho biết khoảng mấy giờ thường có người đổ rác?"})):
        await reports.act(runtime, actor=owner if action == "assign" else agent, report_id=waiting.id,
                          action_name=action, now=now - days, **extra)
    await reports.submit(
        runtime, reporter=chau, category_code="street_lighting", now=now - 6 * days,
        title="Đèn đường tắt cả dãy phố Đội Cấn", fields={"pole": "DC-17"},
        description="Cả dãy đèn từ số 60 đến số 120 Đội Cấn tắt ba đêm liền, rất tối và nguy hiểm.", **ba_dinh)
    traffic_report = await reports.submit(
        runtime, reporter=chau, category_code="traffic_violation", now=now - 3 * days,
        description="Nhiều xe máy đi ngược chiều trên đường Liễu Giai giờ tan tầm, gần như ngày nào cũng vậy.",
        fields={"vehicle": "motorbike", "violation": "wrong_way"}, **ba_dinh)
    await reports.act(runtime, actor=police, report_id=traffic_report.id, action_name="accept", now=now - 2 * days)
    await reports.submit(
        runtime, reporter=an, category_code="administrative_procedure", public=False, address="14 Đội Cấn",
        commune_code="00004", description="Hồ sơ đăng ký tạm trú nộp trực tuyến đã quá hạn hẹn trả kết quả 5 ngày.",
        fields={"procedure": "Đăng ký tạm trú", "dossier": "G22.12-250915-0042"})


def logins_text(staff: list[Staff]) -> str:
    lines = [f"Demo staff logins (password for all: {DEMO_PASSWORD}; add the TOTP secret to an authenticator app):"]
    for person in staff:
        what = "platform operator" if person.operator else ", ".join(f"{role} of {key}" for key, role in person.roles)
        lines.append(f"  {person.email:28} {person.totp_secret}  ({what})")
    lines.append(f"  e.g. {staff[0].totp_uri}")
    phones = ", ".join(phone for phone, *_ in CITIZENS[:3])
    lines.append(f"Demo citizens sign in by phone with a one-time code (in the log and at /dev/messages in "
                 f"development): {phones}, …")
    return "\n".join(lines)
