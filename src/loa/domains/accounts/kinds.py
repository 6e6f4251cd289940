"""Labels of account kinds, Vietnamese first, and which kinds serve the whole nation or a province."""

from __future__ import annotations

from loa.domains.accounts.models import ACCOUNT_KINDS

KIND_LABELS: dict[str, tuple[str, str]] = {
    "ministry": ("Bộ, cơ quan ngang bộ", "Ministry"),
    "government_office": ("Cơ quan Chính phủ", "Government office"),
    "provincial_committee": ("UBND tỉnh, thành phố", "Provincial People's Committee"),
    "provincial_department": ("Sở, ban, ngành", "Provincial department"),
    "commune_committee": ("UBND xã, phường, đặc khu", "Commune People's Committee"),
    "police": ("Công an", "Police"),
    "fatherland_front": ("Mặt trận Tổ quốc", "Fatherland Front"),
    "court_procuracy": ("Tòa án, Viện kiểm sát", "Court, procuracy"),
    "other_state": ("Cơ quan nhà nước khác", "Other state agency"),
    "school": ("Trường học", "School"),
    "hospital": ("Bệnh viện, trạm y tế", "Hospital, clinic"),
    "water": ("Cấp nước", "Water supply"),
    "power": ("Điện lực", "Power"),
    "transport": ("Giao thông, vận tải", "Transport"),
    "post_telecom": ("Bưu chính, viễn thông", "Post, telecom"),
    "environment": ("Môi trường đô thị", "Urban environment"),
    "other_utility": ("Dịch vụ công ích khác", "Other public utility"),
}
assert set(KIND_LABELS) == set(ACCOUNT_KINDS)

# Kinds whose accounts serve everyone, wherever they live: never "local" to one commune.
NATIONAL_KINDS = frozenset({"ministry", "government_office"})
