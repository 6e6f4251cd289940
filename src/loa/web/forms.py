"""What a person typed into a form and what is wrong with it, to show the form again with the error next to
the field (`{{ forms.field(form, "phone", _("Phone number")) }}` in the template).

    form = Form.of(phone=phone)
    try:
        await people.request_otp(session, phone, ip)
    except AppError as exc:
        form.fail("phone", pick(request, exc.message))
        return render(request, "people/login.html", {"form": form}, status_code=exc.status_code)
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_FIELD_LENGTH = 10_000  # longer input is cut before it is shown again


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field name → message in the viewer's language

    @classmethod
    def of(cls, **values: str | None) -> Form:
        return cls(values={name: (value or "")[:MAX_FIELD_LENGTH] for name, value in values.items()})

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def fail(self, name: str, message: str) -> None:
        """Record the first problem of a field (later ones wait until it is fixed)."""
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def first_error(self) -> str | None:
        """The field to put the focus on."""
        return next(iter(self.errors), None)
