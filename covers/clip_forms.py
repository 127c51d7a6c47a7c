from django import forms

from lib.audio import ACCEPTED_LABEL

ACCEPT = ".mp3,.wav,.m4a,.aac,.flac,.ogg,.opus,audio/*"


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Audio file",
        help_text=f"{ACCEPTED_LABEL}, up to 8 minutes.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        allow_empty_file=True,  # the service explains an empty file in its own words
    )


class RenameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)


class TrimForm(forms.Form):
    start = forms.DecimalField(
        label="Start (seconds)", min_value=0, decimal_places=2, max_digits=7,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    end = forms.DecimalField(
        label="End (seconds)", min_value=0, decimal_places=2, max_digits=7,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )

    def __init__(self, *args, duration=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.duration = duration
        if duration:
            for field in ("start", "end"):
                self.fields[field].widget.attrs["max"] = f"{duration:.2f}"

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            raise forms.ValidationError("The end must come after the start.")
        return data


class DirectUploadForm(forms.Form):
    filename = forms.CharField(max_length=500)
    content_type = forms.CharField(max_length=100, required=False)


class VerifyUploadForm(forms.Form):
    ticket = forms.CharField(max_length=2000)
