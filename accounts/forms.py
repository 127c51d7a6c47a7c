from django import forms
from django.contrib.auth import password_validation

from accounts.models import EntryKind, Role, User
from accounts.services import INVITABLE_ROLES


class SignupForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this email already exists. Sign in, or reset your password."
            )
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("email") and cleaned.get("password"):
            try:
                password_validation.validate_password(
                    cleaned["password"], User(email=cleaned["email"])
                )
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ProfileForm(forms.Form):
    name = forms.CharField(
        max_length=150, required=False, help_text="Shown to the people in your workspaces.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    notify_by_email = forms.BooleanField(
        label="Email me when a job finishes or fails", required=False
    )


class WorkspaceNameForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Workspace name",
        error_messages={"required": "Give the workspace a name."},
    )


class InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in INVITABLE_ROLES], initial=Role.MEMBER
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class CapForm(forms.Form):
    monthly_cap = forms.IntegerField(
        label="Monthly cap", min_value=0, required=False,
        help_text="Credits per calendar month. Leave empty for no cap.",
    )


class LedgerFilterForm(forms.Form):
    member = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *EntryKind.choices])

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "Everyone")] + [
            (str(m.code), m.user.display_name) for m in memberships
        ]


def _catalog():
    from covers.providers import catalog

    return catalog


class DefaultsForm(forms.Form):
    """The provider and model the new-cover form starts with."""

    default_provider = forms.ChoiceField(label="Default provider", required=False)
    default_model = forms.ChoiceField(
        label="Default model", required=False,
        help_text="Only Apikley offers a choice of model; the others pick their own.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        providers = _catalog().PROVIDERS
        self.fields["default_provider"].choices = [("", "First that fits the source")] + [
            (name, info.label) for name, info in providers.items()
        ]
        self.fields["default_model"].choices = [("", "The provider's default")] + [
            (model, f"{model} ({info.label})")
            for info in providers.values() for model in info.models
        ]

    def clean(self):
        data = super().clean()
        provider, model = data.get("default_provider") or "", data.get("default_model") or ""
        if model and (not provider or model not in _catalog().info(provider).models):
            self.add_error("default_model", "Choose a model of the default provider.")
        return data


class ProviderKeyForm(forms.Form):
    provider = forms.ChoiceField(widget=forms.HiddenInput)
    api_key = forms.CharField(
        label="API key", min_length=12, max_length=500, strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={"min_length": "That is too short to be an API key.",
                        "required": "Paste the API key."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [
            (name, info.label) for name, info in _catalog().PROVIDERS.items()
        ]
