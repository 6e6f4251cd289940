"""`./loa admin create`: a platform operator with a password and an authenticator secret."""

from __future__ import annotations

import typer
from sqlalchemy import select

from loa.db.migrate import upgrade_async
from loa.domains.people import service
from loa.domains.people.models import User
from loa.kit.effects import commit
from loa.kit.errors import AppError
from loa.runtime import Runtime
from loa.settings import Settings


async def create_operator(settings: Settings, *, email: str, password: str, name: str) -> None:
    """Create the operator, or reset an existing user's password and TOTP and make them an operator.
    Their other sessions end. Prints the otpauth URI for their authenticator app."""
    await upgrade_async(settings.resolved_database_url)
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            try:
                user, uri = await service.set_staff_credentials(session, email=email, password=password,
                                                                name=name, operator=True)
            except AppError as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(1) from exc
            await commit(session)
    finally:
        await runtime.close()
    typer.echo(f"Quản trị viên / Operator: {user.email} (id {user.id})")
    typer.echo("Thêm vào ứng dụng xác thực / Add to your authenticator app:")
    typer.echo(uri)
    typer.echo(f"Khoá bí mật / Secret: {user.totp_secret}")


async def current_totp(settings: Settings, *, email: str) -> str:
    """The second-factor code a staff user's authenticator shows right now (development only)."""
    import pyotp

    runtime = Runtime(settings)
    try:
        async with runtime.read_session() as session:
            user = await session.scalar(select(User).where(User.email == service.normalize_email(email)))
    finally:
        await runtime.close()
    if user is None or not user.totp_secret:
        raise typer.BadParameter(f"no staff user with a second factor: {email}")
    return pyotp.TOTP(user.totp_secret).now()
