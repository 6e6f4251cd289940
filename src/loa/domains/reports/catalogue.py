"""The report categories every installation starts with (operators edit them afterwards). Deadlines are
defaults an account can change per category; the legal texts behind them are in docs/architecture.md."""

from __future__ import annotations

from typing import Any


def _choice(code: str, label: str, label_en: str, values: list[tuple[str, str]], *, required: bool = True,
            order: int = 1, multiple: bool = False) -> dict[str, Any]:
    return {"code": code, "label": label, "label_en": label_en, "required": required, "order": order,
            "datatype": "multivaluelist" if multiple else "singlevaluelist",
            "values": [{"key": key, "name": name} for key, name in values]}


def _text(code: str, label: str, label_en: str, *, required: bool = False, order: int = 1,
          datatype: str = "string") -> dict[str, Any]:
    return {"code": code, "label": label, "label_en": label_en, "required": required, "order": order,
            "datatype": datatype, "values": []}


DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {"code": "traffic_violation", "name": "Vi phạm trật tự an toàn giao thông", "name_en": "Traffic violation",
     "category_group": "Giao thông", "account_kinds": ["police"], "deadline_amount": 10,
     "deadline_unit": "working_days", "public_rounding_m": 100,
     "keywords": ["vượt đèn đỏ", "đi ngược chiều", "đỗ xe", "mũ bảo hiểm", "biển số"],
     "description": "Vượt đèn đỏ, đi ngược chiều, đỗ xe sai quy định… kèm ảnh và biển số nếu có.",
     "fields": [
         _choice("vehicle", "Loại phương tiện", "Vehicle", [
             ("motorbike", "Xe máy"), ("car", "Ô tô"), ("truck", "Xe tải"), ("other", "Khác")], order=1),
         _choice("violation", "Hành vi vi phạm", "Violation", [
             ("red_light", "Vượt đèn đỏ"), ("wrong_way", "Đi ngược chiều"),
             ("illegal_parking", "Đỗ xe sai quy định"), ("no_helmet", "Không đội mũ bảo hiểm"),
             ("other", "Khác")], order=2),
         _text("plate", "Biển số xe", "Number plate", order=3),
     ]},
    {"code": "road_damage", "name": "Hư hỏng đường, cầu, vỉa hè", "name_en": "Damaged road, bridge or pavement",
     "category_group": "Hạ tầng", "account_kinds": ["transport", "commune_committee"], "deadline_amount": 5,
     "deadline_unit": "working_days", "keywords": ["ổ gà", "sụt lún", "vỉa hè", "cầu"],
     "fields": [_choice("size", "Mức độ", "Size", [("small", "Nhỏ"), ("medium", "Vừa"), ("large", "Lớn")]),
                _choice("danger", "Gây nguy hiểm", "Dangerous", [("yes", "Có"), ("no", "Không")], order=2)]},
    {"code": "street_lighting", "name": "Đèn chiếu sáng công cộng", "name_en": "Street lighting",
     "category_group": "Hạ tầng", "account_kinds": ["environment", "power"], "deadline_amount": 3,
     "deadline_unit": "working_days", "keywords": ["đèn đường", "cột đèn"],
     "fields": [_text("pole", "Số hiệu cột đèn", "Pole number")]},
    {"code": "waste", "name": "Rác thải, vệ sinh môi trường", "name_en": "Waste and sanitation",
     "category_group": "Môi trường", "account_kinds": ["environment", "commune_committee"], "deadline_amount": 3,
     "deadline_unit": "working_days", "keywords": ["rác", "xả thải", "ô nhiễm"], "fields": []},
    {"code": "flooding", "name": "Ngập úng, thoát nước", "name_en": "Flooding and drainage",
     "category_group": "Môi trường", "account_kinds": ["environment", "commune_committee"], "deadline_amount": 8,
     "deadline_unit": "working_hours", "keywords": ["ngập", "cống", "thoát nước"],
     "fields": [_text("depth_cm", "Độ sâu ngập (cm)", "Water depth (cm)", datatype="number")]},
    {"code": "public_order", "name": "Trật tự công cộng, an ninh", "name_en": "Public order",
     "category_group": "An ninh trật tự", "account_kinds": ["police", "commune_committee"], "deadline_amount": 3,
     "deadline_unit": "working_days", "public_rounding_m": 200, "keywords": ["gây rối", "tiếng ồn", "lấn chiếm"],
     "fields": []},
    {"code": "school", "name": "Giáo dục, trường học", "name_en": "School", "category_group": "Giáo dục",
     "account_kinds": ["school", "provincial_department"], "deadline_amount": 10, "deadline_unit": "working_days",
     "keywords": ["học phí", "giáo viên", "trường"],
     "fields": [_text("school_name", "Tên trường", "School", required=True)]},
    {"code": "health_service", "name": "Dịch vụ y tế", "name_en": "Health service", "category_group": "Y tế",
     "account_kinds": ["hospital", "provincial_department"], "deadline_amount": 10, "deadline_unit": "working_days",
     "keywords": ["bệnh viện", "khám bệnh", "bảo hiểm y tế"],
     "fields": [_text("facility", "Cơ sở y tế", "Health facility", required=True)]},
    {"code": "water_outage", "name": "Mất nước, chất lượng nước", "name_en": "Water outage or quality",
     "category_group": "Điện, nước", "account_kinds": ["water"], "deadline_amount": 8,
     "deadline_unit": "working_hours", "keywords": ["mất nước", "nước đục"],
     "fields": [_text("customer_code", "Mã khách hàng", "Customer number")]},
    {"code": "power_outage", "name": "Mất điện, sự cố điện", "name_en": "Power outage",
     "category_group": "Điện, nước", "account_kinds": ["power"], "deadline_amount": 8,
     "deadline_unit": "working_hours", "keywords": ["mất điện", "chập điện"],
     "fields": [_text("customer_code", "Mã khách hàng", "Customer number")]},
    {"code": "administrative_procedure", "name": "Thủ tục hành chính", "name_en": "Administrative procedure",
     "category_group": "Hành chính", "account_kinds": ["commune_committee", "provincial_committee",
                                                         "provincial_department", "ministry"],
     "deadline_amount": 10, "deadline_unit": "working_days", "keywords": ["hồ sơ", "giấy tờ", "thủ tục"],
     "fields": [_text("procedure", "Tên thủ tục", "Procedure", required=True),
                _text("dossier", "Mã hồ sơ", "Dossier number", order=2)]},
    {"code": "other", "name": "Phản ánh khác", "name_en": "Other", "category_group": "Khác",
     "account_kinds": ["commune_committee"], "deadline_amount": 10, "deadline_unit": "working_days",
     "keywords": [], "fields": []},
]
