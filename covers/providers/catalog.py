"""What each provider can do, its limits, prices and retention: data, read by forms,
services and the adapters' validation. Sources: ../shared/providers/ (doc = the provider's
documentation, upstream = the platform it resells, ours = our choice where nothing is
published).

Prices are credits taken from the workspace per job. An operator overrides them with the
PROVIDER_PRICES setting, e.g. {"apikley": {"upload_cover": 15}} (JSON in the environment).
"""

from dataclasses import dataclass, field

UPLOAD_COVER = "upload_cover"
TRACK_COVER = "track_cover"
COVER_ART = "cover_art"


@dataclass(frozen=True)
class ModelLimits:
    prompt: int
    style: int
    title: int
    max_source_seconds: float | None = None  # None: the provider's general window applies


@dataclass(frozen=True)
class ModeRule:
    """Which fields a mode requires, and which it wants left empty."""

    required: frozenset
    empty: frozenset = frozenset()


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    label: str
    upload_cover: bool
    track_cover: bool
    cover_art: bool
    import_task: bool
    models: dict = field(default_factory=dict)  # model name -> ModelLimits; {} = no choice
    default_model: str = ""
    source_seconds: tuple = (None, None)  # (min, max) length of the source audio
    # Limits that apply whatever the model (Apiframe, apiin.one, Apikley's non-custom prompt).
    limits: dict = field(default_factory=dict)
    mode_rules: dict = field(default_factory=dict)  # (custom_mode, instrumental) -> ModeRule
    prices: dict = field(default_factory=dict)  # kind -> credits, or kind -> {model: credits}
    retention_days: dict = field(default_factory=dict)  # audio / images / uploads
    notes: str = ""

    def can(self, kind):
        return {UPLOAD_COVER: self.upload_cover, TRACK_COVER: self.track_cover,
                COVER_ART: self.cover_art, "import": self.import_task}[kind]


_CUSTOM_VOCAL = ModeRule(required=frozenset({"style", "title", "prompt"}))
_CUSTOM_INSTRUMENTAL = ModeRule(required=frozenset({"style", "title"}))
_NON_CUSTOM = ModeRule(
    required=frozenset({"prompt"}),
    empty=frozenset({"style", "title", "vocal_gender", "persona_id"}),
)

APIKLEY = ProviderInfo(
    name="apikley",
    label="Apikley",
    upload_cover=True,
    track_cover=True,  # an upload-cover of our stored copy of the track
    cover_art=True,
    import_task=True,
    models={  # doc: seed 002
        "V5": ModelLimits(prompt=5000, style=1000, title=100),
        "V4_5PLUS": ModelLimits(prompt=5000, style=1000, title=100),
        "V4_5": ModelLimits(prompt=5000, style=1000, title=100),
        "V4_5ALL": ModelLimits(prompt=5000, style=1000, title=80, max_source_seconds=60),
        "V4": ModelLimits(prompt=3000, style=200, title=80),
    },
    default_model="V5",
    source_seconds=(None, 8 * 60),  # doc: at most 8 minutes
    limits={"non_custom_prompt": 500, "weights": (0, 1), "weight_decimals": 2},
    mode_rules={  # doc: seed 002, "Parameter Usage Guide"
        (True, False): _CUSTOM_VOCAL,
        (True, True): _CUSTOM_INSTRUMENTAL,
        (False, False): _NON_CUSTOM,
        (False, True): _NON_CUSTOM,
    },
    # ours: Apikley publishes no per-request price; a song pair and a cover-art pair.
    prices={UPLOAD_COVER: 12, TRACK_COVER: 12, COVER_ART: 2},
    retention_days={"audio": 15, "images": 14, "uploads": 3},  # doc
)

APIINONE = ProviderInfo(
    name="apiinone",
    label="apiin.one",
    upload_cover=True,  # by a Suno audio_id the user supplies
    track_cover=True,  # when the track came from apiin.one (its clip id)
    cover_art=True,
    import_task=True,
    source_seconds=(6, 60),  # doc
    # inferred: no limits published; Suno's own custom-mode limits.
    limits={"prompt": 5000, "style": 1000, "title": 100},
    mode_rules={
        (True, False): ModeRule(required=frozenset({"prompt"})),
        (True, True): ModeRule(required=frozenset({"prompt"})),
        (False, False): ModeRule(required=frozenset()),
        (False, True): ModeRule(required=frozenset()),
    },
    # doc: upload-cover costs 5-12 by a model variation we cannot choose: hold the ceiling.
    prices={UPLOAD_COVER: 12, TRACK_COVER: 12, COVER_ART: 1},
    retention_days={"audio": 15, "images": 14, "uploads": 3},  # inferred: like its upstream
)

APIFRAME = ProviderInfo(
    name="apiframe",
    label="Apiframe",
    upload_cover=False,  # v2 has no audio upload
    track_cover=True,  # `action: cover` on a completed Apiframe job
    cover_art=False,
    import_task=True,
    limits={"prompt": 5000, "title": 80, "style": 1000, "negative_tags": 500,
            "weights": (0, 1), "track_index": (1, 2)},  # doc: seed 000
    prices={TRACK_COVER: 11},  # doc
    retention_days={"audio": 14, "images": 14, "uploads": 3},  # inferred
    notes="Model and mode are inherited from the parent job.",
)

PROVIDERS = {p.name: p for p in (APIKLEY, APIINONE, APIFRAME)}


def info(provider):
    return PROVIDERS[str(provider)]


def model_limits(provider, model):
    return info(provider).models.get(model)


def source_window(provider, model=""):
    """(min seconds, max seconds) for a source clip; either may be None."""
    p = info(provider)
    low, high = p.source_seconds
    limits = p.models.get(model)
    if limits and limits.max_source_seconds is not None:
        high = limits.max_source_seconds
    return low, high


def price(provider, kind, model=""):
    """Credits a job costs: the operator's override (PROVIDER_PRICES) or the table.
    Raises KeyError when the provider cannot do `kind`."""
    from django.conf import settings

    overrides = (getattr(settings, "PROVIDER_PRICES", None) or {}).get(str(provider), {})
    value = overrides[kind] if kind in overrides else info(provider).prices[kind]
    if isinstance(value, dict):
        return int(value.get(model, max(value.values())))
    return int(value)


def providers_for(kind):
    """The providers able to run `kind`, in table order."""
    return [p for p in PROVIDERS.values() if p.can(kind)]
