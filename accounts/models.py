import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Signs in with an email address; there is no username."""

    username = None
    email = models.EmailField("email address", unique=True)
    notify_by_email = models.BooleanField(
        default=False, help_text="Email me when a job finishes or fails."
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self):
        return self.email

    @property
    def display_name(self):
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# Higher rank includes every power of the ranks below it.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def provider_choices():
    from covers.models import Provider

    return Provider.choices


class Workspace(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    personal = models.BooleanField(default=False)
    # What the new-cover form preselects; empty means the catalog's first provider and default.
    default_provider = models.CharField(max_length=20, blank=True, choices=provider_choices)
    default_model = models.CharField(max_length=30, blank=True)
    # A cache of the sum of this workspace's CreditEntry rows, changed only in the
    # same transaction as a new entry (see accounts.credits).
    credit_balance = models.IntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_balance__gte=0), name="workspace_balance_not_negative"
            )
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    monthly_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most credits this member may spend in a calendar month."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")
        ]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"

    def has_role(self, role):
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def can_create_jobs(self):
        return self.has_role(Role.MEMBER)

    @property
    def can_manage_members(self):
        return self.has_role(Role.ADMIN)

    @property
    def can_manage_billing(self):
        return self.role == Role.OWNER


class Invitation(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the current link was signed: a resend signs a new link and the older one stops working.
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.email} to {self.workspace}"

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at


class EntryKind(models.TextChoices):
    GRANT = "grant", "Grant"
    PURCHASE = "purchase", "Purchase"
    HOLD = "hold", "Hold"
    CAPTURE = "capture", "Capture"
    RELEASE = "release", "Release"
    ADJUSTMENT = "adjustment", "Adjustment"


class CreditEntry(models.Model):
    """One movement of credits. Append-only: never updated, never deleted.

    `amount` is the change to the workspace balance: a hold takes credits out of the
    balance at once (-N), a release gives them back (+N), and a capture (0) records that
    a hold became a charge. Each hold is settled at most once, enforced by the unique
    `settles` link, so a job can never be refunded or charged twice.
    """

    workspace = models.ForeignKey(Workspace, models.PROTECT, related_name="credit_entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField()
    # Who made the change (a person, a staff user, or None for the system).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Whose spending this counts toward (for per-member caps); set on holds.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    job = models.ForeignKey(
        "covers.CoverJob", models.PROTECT, null=True, blank=True, related_name="credit_entries"
    )
    settles = models.OneToOneField(
        "self", models.PROTECT, null=True, blank=True, related_name="settlement"
    )
    note = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "credit entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="entry_balance_after_not_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="hold", amount__lt=0)
                    | Q(kind="release", amount__gt=0)
                    | Q(kind="capture", amount=0)
                    | Q(kind__in=["grant", "purchase"], amount__gt=0)
                    | Q(kind="adjustment")
                ),
                name="entry_amount_sign_matches_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount:+d} ({self.workspace})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Credit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Credit entries are append-only.")


class AuditLog(models.Model):
    """Who did what to which workspace."""

    workspace = models.ForeignKey(
        Workspace, models.SET_NULL, null=True, blank=True, related_name="audit_logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.actor} {self.action} {self.target}"


def audit(workspace, actor, action, target="", **data):
    return AuditLog.objects.create(
        workspace=workspace,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target=str(target)[:200],
        data=data,
    )


class ProviderKey(models.Model):
    """A workspace's own API key for a provider ("bring your own key"), encrypted at rest
    (accounts.crypto). Only `last4` is ever shown.

    Replacing or removing a key retires its row instead of deleting it, so a job keeps
    polling and verifying webhooks with the key it was submitted with; retired rows are
    deleted once no running job can need them (see services.purge_retired_keys).
    """

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="provider_keys")
    provider = models.CharField(max_length=20, choices=provider_choices)
    encrypted_key = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-set_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "provider"], condition=Q(retired_at=None),
                name="one_live_key_per_workspace_provider",
            )
        ]

    def __str__(self):
        return f"{self.get_provider_display()} key \u2026{self.last4} ({self.workspace})"

    @classmethod
    def in_force(cls, workspace, provider, at=None):
        """The key the workspace had for `provider` at `at` (now when None), or None."""
        keys = cls.objects.filter(workspace=workspace, provider=str(provider))
        if at is None:
            return keys.filter(retired_at=None).first()
        return keys.filter(set_at__lte=at).filter(
            Q(retired_at=None) | Q(retired_at__gt=at)
        ).first()

    def plaintext(self):
        from accounts import crypto

        return crypto.decrypt(self.encrypted_key)


class Notification(models.Model):
    """Something a person should know about, shown in the top bar until read."""

    class Kind(models.TextChoices):
        JOB_SUCCEEDED = "job_succeeded", "Job ready"
        JOB_FAILED = "job_failed", "Job failed"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications"
    )
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="notifications")
    job = models.ForeignKey(
        "covers.CoverJob", models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the email went out (claimed by a conditional update: one email, even if the
    # task runs twice).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="one_notification_per_outcome")
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_list"),
            models.Index(fields=["recipient"], condition=Q(read_at=None),
                         name="notification_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.recipient}"

    @property
    def is_read(self):
        return self.read_at is not None
