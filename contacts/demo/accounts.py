"""Demo people: an admin whose password is kept under var/ so every `make demo` prints the same
login, and one user per role."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.roles import ROLES, sync_role_permissions

DEMO_PASSWORD_FILE = Path(settings.BASE_DIR) / "var" / "demo-admin-password"


def load_accounts(*, now, log) -> None:
    sync_role_permissions()
    User = get_user_model()
    if DEMO_PASSWORD_FILE.exists():
        password = DEMO_PASSWORD_FILE.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        DEMO_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_PASSWORD_FILE.write_text(password)
    admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    for role in ROLES:
        if role == "dialler":
            continue  # machines get credentials, not logins
        user, _ = User.objects.get_or_create(
            username=f"demo-{role.replace('_', '-')}", defaults={"is_staff": True}
        )
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=role))
    log(
        f"Admin login: admin / {password}  (role users demo-campaign-manager, demo-floor-supervisor, "
        f"demo-agent, demo-quality-evaluator share this password)"
    )
