"""Forms for cover jobs. What a source allows (providers, models, lengths, prices) comes from
the provider catalog; the adapter's own validation is the last word before credits move."""

import json
import uuid
from decimal import Decimal

from django import forms

from covers.models import JobKind, JobState, Provider
from covers.providers import catalog
from covers.providers.base import CoverRequest, ProviderError, ValidationFailed

WEIGHT_HELP = "0 to 1, in steps of 0.01. Leave empty for the provider's default."
VOCAL_CHOICES = [("", "No preference"), ("f", "Female"), ("m", "Male")]


def weight_field(label, help_text=WEIGHT_HELP):
    return forms.DecimalField(
        label=label, required=False, min_value=Decimal("0"), max_value=Decimal("1"),
        max_digits=3, decimal_places=2, help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1"}),
    )


def new_idempotency_key():
    return uuid.uuid4().hex


class Source:
    """What is being covered: an uploaded clip, or a track of a finished job."""

    def __init__(self, *, clip=None, track=None):
        self.clip = clip
        self.track = track

    @property
    def kind(self):
        return JobKind.UPLOAD_COVER if self.clip else JobKind.TRACK_COVER

    @property
    def workspace(self):
        return self.clip.workspace if self.clip else self.track.job.workspace

    @property
    def seconds(self):
        return self.clip.duration if self.clip else self.track.duration

    @property
    def label(self):
        if self.clip:
            return getattr(self.clip, "display_name", "") or self.clip.original_name
        return f"{self.track} (from {self.track.job.title or 'a finished job'})"

    def reason_against(self, provider):
        """Why `provider` cannot cover this source, or "" when it can."""
        info = catalog.info(provider)
        if not info.can(self.kind):
            return f"{info.label} cannot cover " + ("an uploaded clip." if self.clip else
                                                     "this track.")
        if self.track is not None:
            origin = self.track.job.provider
            if provider == Provider.APIFRAME and origin != Provider.APIFRAME:
                return "Apiframe can only cover tracks of Apiframe jobs."
            if provider == Provider.APIINONE and origin != Provider.APIINONE:
                return "apiin.one can only cover tracks it made (by their clip id)."
            if provider == Provider.APIKLEY and not self.track.audio:
                return "The track is still being copied to our storage."
            if self.track.job.state != JobState.SUCCEEDED:
                return "The job that made this track has not finished."
        if info.models:
            if not self.models(provider):
                return f"The clip is too long for {info.label}."
        else:
            low, high = catalog.source_window(provider)
            if self.seconds is not None:
                if low is not None and self.seconds < low:
                    return f"{info.label} needs at least {low:g} seconds of audio."
                if high is not None and self.seconds > high:
                    return f"{info.label} takes at most {high:g} seconds of audio."
        return ""

    def models(self, provider):
        """The provider's models this source fits (length limits per model)."""
        info = catalog.info(provider)
        fitting = []
        for name in info.models:
            low, high = catalog.source_window(provider, name)
            if self.seconds is not None and (
                (high is not None and self.seconds > high) or (low is not None and self.seconds < low)
            ):
                continue
            fitting.append(name)
        return fitting

    def providers(self):
        return [p.name for p in catalog.PROVIDERS.values() if not self.reason_against(p.name)]

    def refused(self):
        return {p.name: r for p in catalog.PROVIDERS.values() if (r := self.reason_against(p.name))}


def limits_table(source):
    """Per provider and model: character limits and price, for the counters and the cost."""
    table = {}
    for name in source.providers():
        info = catalog.info(name)
        entries = {}
        for model in source.models(name) or [""]:
            limits = info.models.get(model)
            entries[model] = {
                "prompt": limits.prompt if limits else info.limits.get("prompt", 5000),
                "style": limits.style if limits else info.limits.get("style", 1000),
                "title": limits.title if limits else info.limits.get("title", 100),
                "negative_tags": info.limits.get("negative_tags", 500),
                "non_custom_prompt": info.limits.get("non_custom_prompt",
                                                     info.limits.get("prompt", 5000)),
                "price": catalog.price(name, source.kind, model),
            }
        table[name] = {"label": info.label, "models": entries,
                       "default_model": info.default_model}
    return table


# Which fields each provider takes (the form shows only these); custom-mode-only fields hide
# in simple mode.
PROVIDER_FIELDS = {
    Provider.APIKLEY: ["model", "custom_mode", "instrumental", "prompt", "style", "title",
                       "negative_tags", "vocal_gender", "persona_id", "style_weight",
                       "weirdness_constraint", "audio_weight"],
    Provider.APIINONE: ["audio_id", "custom_mode", "prompt", "style", "title"],
    Provider.APIFRAME: ["prompt", "style", "title", "negative_tags", "audio_weight"],
}
CUSTOM_ONLY = ["style", "title", "vocal_gender", "persona_id"]


class CoverForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    provider = forms.ChoiceField(label="Provider")
    model = forms.ChoiceField(label="Model", required=False)
    custom_mode = forms.BooleanField(
        label="Custom mode", required=False,
        help_text="Write the lyrics, style and title yourself. Off: describe the idea in a "
        "few words.",
    )
    instrumental = forms.BooleanField(label="Instrumental (no vocals)", required=False)
    audio_id = forms.CharField(
        label="Suno audio id", required=False, max_length=100,
        help_text="apiin.one covers a Suno audio id: paste the id of this audio from Suno.",
    )
    prompt = forms.CharField(
        label="Lyrics or idea", required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Custom mode: the exact lyrics. Otherwise: the idea, in a sentence or two.",
    )
    style = forms.CharField(label="Style", required=False,
                            widget=forms.Textarea(attrs={"rows": 2}),
                            help_text="Genres, moods, instruments: the main lever of a cover.")
    title = forms.CharField(label="Title", required=False, max_length=200)
    negative_tags = forms.CharField(label="Avoid (negative tags)", required=False,
                                    max_length=500)
    vocal_gender = forms.ChoiceField(label="Vocal gender", required=False, choices=VOCAL_CHOICES)
    persona_id = forms.CharField(label="Persona id", required=False, max_length=100)
    style_weight = weight_field("Style weight")
    weirdness_constraint = weight_field("Weirdness")
    audio_weight = weight_field(
        "Audio weight", "0 to 1: higher stays closer to the source melody.")

    COUNTED = ("prompt", "style", "title", "negative_tags")

    def __init__(self, *args, source, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.table = limits_table(source)
        self.fields["provider"].choices = [(k, v["label"]) for k, v in self.table.items()]
        models = []
        for entry in self.table.values():
            models += [(m, f"{m} ({entry['label']})") for m in entry["models"] if m]
        self.fields["model"].choices = [("", "Provider default")] + models
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())
            if self.table:
                # The workspace's preference when this source allows it, else the catalog's.
                workspace = source.workspace
                first = getattr(workspace, "default_provider", "") or ""
                if first not in self.table:
                    first = next(iter(self.table))
                model = getattr(workspace, "default_model", "") or ""
                if model not in self.table[first]["models"]:
                    model = self.table[first]["default_model"]
                self.initial.setdefault("provider", first)
                self.initial.setdefault("model", model)
            if source.track is not None:
                self.initial.setdefault("style", source.track.tags)
                self.initial.setdefault("title", source.track.title)
        for name in self.COUNTED:
            self.fields[name].widget.attrs["data-count"] = name

    @property
    def limits_json(self):
        return json.dumps(self.table)

    @property
    def fields_json(self):
        fields = {str(k): v for k, v in PROVIDER_FIELDS.items()}
        if self.source.track is not None:
            fields[Provider.APIINONE] = [f for f in fields[Provider.APIINONE] if f != "audio_id"]
        return json.dumps({"providers": fields, "custom_only": CUSTOM_ONLY})

    def price(self):
        provider = self.data.get("provider") if self.is_bound else self.initial.get("provider")
        model = (self.data.get("model") if self.is_bound else self.initial.get("model")) or ""
        entry = self.table.get(provider or "")
        if not entry:
            return None
        models = entry["models"]
        return (models.get(model) or next(iter(models.values())))["price"]

    def clean(self):
        data = super().clean()
        provider = data.get("provider")
        if not provider:
            return data
        entry = self.table[provider]
        model = data.get("model") or ""
        if entry["models"] and "" not in entry["models"]:
            if not model:
                model = data["model"] = entry["default_model"] or next(iter(entry["models"]))
            if model not in entry["models"]:
                self.add_error("model", f"{model} does not take this source (length limit).")
                return data
        else:
            model = data["model"] = ""
        if provider == Provider.APIINONE and self.source.clip and not data.get("audio_id"):
            self.add_error("audio_id", "apiin.one needs the Suno audio id of this clip.")
        data["price"] = entry["models"][model]["price"]
        rule = catalog.info(provider).mode_rules.get(
            (data.get("custom_mode", False), data.get("instrumental", False)))
        for name in rule.empty if rule else ():
            data[name] = ""  # hidden in this mode: whatever the browser kept is not sent
        self._validate_with_adapter(provider, data)
        return data

    def _validate_with_adapter(self, provider, data):
        from covers.providers import registry

        request = CoverRequest(
            callback_url="https://coverlab.invalid/hooks/", model=data.get("model") or "",
            custom_mode=data.get("custom_mode", False),
            instrumental=data.get("instrumental", False),
            prompt=data.get("prompt", ""), style=data.get("style", ""),
            title=data.get("title", ""), negative_tags=data.get("negative_tags", ""),
            vocal_gender=data.get("vocal_gender", ""), persona_id=data.get("persona_id", ""),
            style_weight=data.get("style_weight"),
            weirdness_constraint=data.get("weirdness_constraint"),
            audio_weight=data.get("audio_weight"), audio_id=data.get("audio_id", ""),
            source_seconds=self.source.seconds,
        )
        if provider == Provider.APIKLEY:
            request.upload_url = "https://coverlab.invalid/files/source"
        if self.source.track is not None:
            track = self.source.track
            if provider == Provider.APIFRAME:
                request.parent_job_id = track.job.provider_task_id
                request.track_id = track.provider_track_id
                request.track_index = None if track.provider_track_id else track.position
            if provider == Provider.APIINONE and not request.audio_id:
                request.audio_id = track.provider_track_id
        try:
            registry.get_adapter(provider).validate_cover(request)
        except ValidationFailed as exc:
            for name, message in exc.errors.items():
                if name in self.fields and name not in ("idempotency_key",):
                    if name not in self.errors:
                        self.add_error(name, message)
                elif name == "source_seconds":
                    self.add_error(None, f"Source audio: {message}")
                else:
                    self.add_error(None, message)
        except (ProviderError, NotImplementedError):
            pass

    def job_params(self):
        data = self.cleaned_data
        return {name: data.get(name) for name in (
            "model", "custom_mode", "instrumental", "prompt", "style", "title",
            "negative_tags", "vocal_gender", "style_weight", "weirdness_constraint",
            "audio_weight", "persona_id", "audio_id",
        ) if data.get(name) is not None}


class ImportForm(forms.Form):
    provider = forms.ChoiceField(label="Provider")
    task_id = forms.CharField(
        label="Task id", max_length=100,
        help_text="Apikley: the taskId. apiin.one: the task id. Apiframe: the job id.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [
            (p.name, p.label) for p in catalog.PROVIDERS.values() if p.can("import")
        ]

    def clean_task_id(self):
        value = self.cleaned_data["task_id"].strip()
        if not value or any(c.isspace() for c in value):
            raise forms.ValidationError("Paste a single task id.")
        return value


class LibraryFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "Search title, style or idea",
                                                      "type": "search"}))
    state = forms.ChoiceField(label="State", required=False,
                              choices=[("", "Any state"), ("running", "Running"),
                                       *JobState.choices])
    kind = forms.ChoiceField(label="Kind", required=False,
                             choices=[("", "Any kind"), *JobKind.choices])
    provider = forms.ChoiceField(label="Provider", required=False,
                                 choices=[("", "Any provider"), *Provider.choices])
    member = forms.ChoiceField(label="Member", required=False)
    favourite = forms.ChoiceField(label="Favourites", required=False,
                                  choices=[("", "All jobs"),
                                           ("yes", "Favourites only")])

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Membership codes, not user ids, in the URL.
        self.members = {str(m.code): m.user_id for m in members}
        self.fields["member"].choices = [("", "Anyone")] + [
            (str(m.code), m.user.display_name) for m in members
        ]
