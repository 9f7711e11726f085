"""The widget's settings form: Settings → General → Allowed embedding origins."""

from __future__ import annotations

from django import forms

from widget.embedding import MAX_ORIGINS, origins_parse


class EmbeddingOriginsForm(forms.Form):
    origins = forms.CharField(
        label="Allowed embedding origins",
        required=False,
        max_length=MAX_ORIGINS * 310,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"}),
        help_text=(
            "One origin a line, such as <code>https://app.example.com</code> or "
            "<code>https://app.example.com:8443</code>: the pages allowed to show your "
            "customers' widget in a frame and to receive its events. Use https; plain http is "
            f"accepted only for localhost in development. At most {MAX_ORIGINS}."
        ),
    )

    def clean_origins(self) -> list[str]:
        return origins_parse(self.cleaned_data["origins"])
