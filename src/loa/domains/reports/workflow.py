"""Who may move a report from which status to which: one table, read by the service, the API's docs and
the tests. Anything not in it is refused with `transition_not_allowed` and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from loa.domains.reports.models import FINISHED_STATUSES

MANAGERS = ("owner", "admin")
HANDLERS = ("owner", "admin", "agent")  # the account's staff who handle reports


@dataclass(frozen=True)
class Action:
    name: str
    sources: tuple[str, ...]
    target: str
    by: str  # "staff" or "citizen"
    roles: tuple[str, ...] = ()  # staff roles allowed
    needs_note: bool = False  # a reason, a question, an answer
    label: str = ""  # the timeline's words, Vietnamese / English


ACTIONS: dict[str, Action] = {action.name: action for action in (
    Action("accept", ("submitted",), "accepted", "staff", HANDLERS,
           label="Đã tiếp nhận / Accepted"),
    Action("reject", ("submitted", "accepted"), "rejected", "staff", MANAGERS, needs_note=True,
           label="Không đủ điều kiện xử lý / Rejected"),
    Action("merge", ("submitted", "accepted"), "merged", "staff", HANDLERS,
           label="Trùng với phản ánh khác / Duplicate of another report"),
    Action("assign", ("accepted", "assigned", "in_progress", "reopened"), "assigned", "staff", MANAGERS,
           label="Đã giao xử lý / Assigned"),
    Action("start", ("assigned", "reopened"), "in_progress", "staff", HANDLERS,
           label="Đang xử lý / In progress"),
    Action("ask", ("in_progress",), "waiting", "staff", HANDLERS, needs_note=True,
           label="Chờ người phản ánh bổ sung / Waiting for the reporter"),
    Action("resume", ("waiting",), "in_progress", "staff", HANDLERS,
           label="Tiếp tục xử lý / Handling resumed"),
    Action("resolve", ("in_progress",), "resolved", "staff", HANDLERS, needs_note=True,
           label="Đã xử lý, có kết quả trả lời / Resolved, answer published"),
    Action("close", ("resolved",), "closed", "staff", HANDLERS,
           label="Đã đóng / Closed"),
    Action("transfer", ("submitted", "accepted", "assigned"), "submitted", "staff", MANAGERS, needs_note=True,
           label="Đã chuyển đến cơ quan có thẩm quyền / Transferred to the competent agency"),
    # The citizen's own steps.
    Action("supplement", ("waiting",), "in_progress", "citizen", needs_note=True,
           label="Người phản ánh đã bổ sung thông tin / The reporter added information"),
    Action("reopen", ("resolved",), "reopened", "citizen", needs_note=True,
           label="Người phản ánh chưa đồng ý với kết quả / The reporter disagrees with the answer"),
    Action("confirm", ("resolved",), "closed", "citizen",
           label="Người phản ánh đồng ý với kết quả / The reporter accepts the answer"),
)}

STAFF_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.by == "staff")
CITIZEN_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.by == "citizen")


def is_finished(status: str) -> bool:
    return status in FINISHED_STATUSES


def allowed_actions(status: str, *, role: str | None = None, citizen: bool = False) -> list[str]:
    """What a staff member of `role` (or the reporter) may do with a report in `status` now."""
    return [name for name, action in ACTIONS.items()
            if status in action.sources
            and (action.by == "citizen" if citizen else action.by == "staff" and role in action.roles)]
