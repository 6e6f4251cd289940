"""Vietnamese names for synthetic agencies and people: real patterns, so that search and lists look real."""

from __future__ import annotations

# The national accounts, largest first: the first one holds about a quarter of all follows, as "Bộ Y tế"
# does on the platform (ministries and ministerial-level agencies after the 2025 restructuring).
MINISTRIES = (
    "Bộ Y tế",
    "Bộ Công an",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Tài chính",
    "Bộ Nội vụ",
    "Bộ Tư pháp",
    "Bộ Công Thương",
    "Bộ Nông nghiệp và Môi trường",
    "Bộ Xây dựng",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Bộ Khoa học và Công nghệ",
    "Bộ Quốc phòng",
    "Bộ Ngoại giao",
    "Bộ Dân tộc và Tôn giáo",
    "Ngân hàng Nhà nước Việt Nam",
    "Thanh tra Chính phủ",
)
GOVERNMENT_OFFICES = (
    "Thông tin Chính phủ",
    "Cổng Dịch vụ công quốc gia",
    "Văn phòng Chính phủ",
    "Bảo hiểm xã hội Việt Nam",
)

# Provincial departments after the 2025 reorganisation ("Sở Y tế Hà Nội").
DEPARTMENTS = (
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Nội vụ",
    "Sở Xây dựng",
    "Sở Nông nghiệp và Môi trường",
    "Sở Công Thương",
    "Sở Khoa học và Công nghệ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Dân tộc và Tôn giáo",
    "Sở Ngoại vụ",
)
# Provincial bodies named with the province's type ("Thanh tra thành phố Hà Nội").
PROVINCIAL_OFFICES = ("Thanh tra", "Văn phòng UBND", "Trung tâm Phục vụ hành chính công")

# (kind, template, weight) per province; {p} = short name ("Hà Nội"), {pl} = "thành phố Hà Nội".
PROVINCIAL_UNITS = (
    ("police", "Công an {pl}", 25.0),
    ("police", "Phòng CSGT Công an {pl}", 20.0),
    ("fatherland_front", "Ủy ban MTTQ Việt Nam {pl}", 6.0),
    ("court_procuracy", "Tòa án nhân dân {pl}", 3.0),
    ("court_procuracy", "Viện kiểm sát nhân dân {pl}", 3.0),
    ("water", "Công ty Cấp nước {p}", 9.0),
    ("water", "Công ty Cổ phần Nước sạch {p}", 5.0),
    ("water", "Công ty Thoát nước và Xử lý nước thải {p}", 3.0),
    ("power", "Công ty Điện lực {p}", 10.0),
    ("power", "Điện lực Trung tâm {p}", 3.0),
    ("power", "Trung tâm Chăm sóc khách hàng Điện lực {p}", 3.0),
    ("post_telecom", "Bưu điện {pl}", 3.0),
    ("post_telecom", "Viettel {p}", 3.0),
    ("post_telecom", "VNPT {p}", 3.0),
    ("environment", "Công ty Môi trường Đô thị {p}", 4.0),
    ("environment", "Trung tâm Quan trắc Tài nguyên và Môi trường {p}", 1.5),
    ("transport", "Ban Quản lý Bến xe {p}", 3.0),
    ("transport", "Trung tâm Quản lý Giao thông công cộng {p}", 4.0),
    ("hospital", "Bệnh viện Đa khoa {pl}", 10.0),
    ("hospital", "Bệnh viện Sản Nhi {p}", 8.0),
    ("hospital", "Trung tâm Kiểm soát bệnh tật {pl}", 8.0),
    ("hospital", "Bệnh viện Y học cổ truyền {p}", 3.0),
)

# Commune-level units beyond the People's Committee and the police: (kind, template, weight, repeatable).
# {c} = "Phường Ba Đình", {cl} = "phường Ba Đình", {s} = "Ba Đình", {f} = a famous name.
COMMUNE_UNITS = (
    ("school", "Trường Mầm non {s}", 9.0, False),
    ("school", "Trường Tiểu học {s}", 9.0, False),
    ("school", "Trường THCS {s}", 8.0, False),
    ("school", "Trường Tiểu học {f}", 5.0, True),
    ("school", "Trường THCS {f}", 4.0, True),
    ("school", "Trường THPT {f}", 6.0, True),
    ("school", "Trường Mầm non Hoa Sen {s}", 2.0, False),
    ("hospital", "Trạm Y tế {cl}", 10.0, False),
    ("hospital", "Phòng khám Đa khoa khu vực {s}", 2.0, False),
    ("hospital", "Bệnh viện Đa khoa khu vực {s}", 1.5, False),
    ("fatherland_front", "Ủy ban MTTQ Việt Nam {cl}", 6.0, False),
    ("fatherland_front", "Đoàn Thanh niên {cl}", 3.0, False),
    ("fatherland_front", "Hội Liên hiệp Phụ nữ {cl}", 2.5, False),
    ("fatherland_front", "Hội Nông dân {cl}", 1.5, False),
    ("fatherland_front", "Hội Cựu chiến binh {cl}", 1.0, False),
    ("other_state", "Trung tâm Phục vụ hành chính công {cl}", 6.0, False),
    ("other_state", "Thuế cơ sở {s}", 3.0, False),
    ("other_state", "Bảo hiểm xã hội cơ sở {s}", 3.0, False),
    ("other_state", "Kho bạc Nhà nước khu vực {s}", 1.0, False),
    ("other_state", "Ban Chỉ huy Quân sự {cl}", 2.0, False),
    ("court_procuracy", "Tòa án nhân dân khu vực {s}", 1.0, False),
    ("court_procuracy", "Viện kiểm sát nhân dân khu vực {s}", 1.0, False),
    ("other_utility", "Ban Quản lý chợ {s}", 2.0, False),
    ("other_utility", "Trung tâm Văn hóa - Thể thao {cl}", 2.0, False),
    ("other_utility", "Hợp tác xã Dịch vụ nông nghiệp {s}", 1.0, False),
    ("post_telecom", "Bưu điện {cl}", 2.0, False),
    ("water", "Nhà máy nước {s}", 1.0, False),
    ("power", "Điện lực {s}", 1.5, False),
    ("environment", "Tổ Vệ sinh môi trường {cl}", 1.0, False),
    ("transport", "Bến xe khách {s}", 0.5, False),
)

# People and places schools are named after.
FAMOUS = (
    "Chu Văn An", "Nguyễn Trãi", "Lê Quý Đôn", "Trần Phú", "Nguyễn Du", "Lê Lợi", "Quang Trung", "Nguyễn Huệ",
    "Trần Hưng Đạo", "Phan Bội Châu", "Nguyễn Thị Minh Khai", "Lý Thường Kiệt", "Hai Bà Trưng", "Ngô Quyền",
    "Võ Thị Sáu", "Kim Đồng", "Lê Hồng Phong", "Phan Đình Phùng", "Hùng Vương", "Nguyễn Văn Cừ",
    "Trần Quốc Tuấn", "Lê Văn Tám", "Nguyễn Bỉnh Khiêm", "Phan Chu Trinh", "Huỳnh Thúc Kháng", "Tô Hiệu",
    "Nguyễn Khuyến", "Lương Thế Vinh", "Đinh Tiên Hoàng", "Trưng Vương", "Bế Văn Đàn", "Nguyễn Đình Chiểu",
)

# Family names weighted roughly by their frequency (Nguyễn about 38%).
FAMILY_NAMES = (
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4), ("Phan", 4), ("Vũ", 4),
    ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2), ("Ngô", 2), ("Dương", 1), ("Lý", 1),
    ("Đinh", 1), ("Trịnh", 1), ("Đào", 1),
)
MIDDLE_NAMES = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Hữu", "Quang", "Thu", "Hoài", "Xuân", "Anh",
                "Bảo", "Gia", "Thành", "Kim")
GIVEN_NAMES = (
    "An", "Bình", "Châu", "Dũng", "Dương", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh",
    "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phương", "Quân", "Sơn", "Tâm",
    "Thảo", "Trang", "Trung", "Tuấn", "Việt", "Yến", "Đạt", "Giang", "Huy", "Khoa", "My", "Nhung", "Quỳnh",
    "Thắng", "Thủy", "Tiến", "Vy", "Hòa", "Lộc", "Phúc", "Tú", "Vân",
)
FAMILY_POOL = tuple(name for name, weight in FAMILY_NAMES for _ in range(weight))


def person_name(index: int) -> str:
    """A plausible full name for person number `index` (deterministic, no RNG call per person)."""
    family = FAMILY_POOL[(index * 2_654_435_761) % len(FAMILY_POOL)]
    middle = MIDDLE_NAMES[(index * 40_503) % len(MIDDLE_NAMES)]
    given = GIVEN_NAMES[(index * 97 + index // 7) % len(GIVEN_NAMES)]
    return f"{family} {middle} {given}"
