import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.vary import vary_on_headers

from accounts.access import get_membership
from accounts.forms import LedgerFilterForm

PER_PAGE = 50


def _filtered_entries(request, workspace):
    memberships = workspace.memberships.select_related("user").order_by("created_at")
    form = LedgerFilterForm(request.GET or None, memberships=memberships)
    entries = workspace.credit_entries.select_related("actor", "member", "job")
    if form.is_valid():
        if code := form.cleaned_data["member"]:
            user = next(m.user for m in memberships if str(m.code) == code)
            entries = entries.filter(Q(member=user) | Q(actor=user))
        if kind := form.cleaned_data["kind"]:
            entries = entries.filter(kind=kind)
    return form, entries


@login_required
@vary_on_headers("HX-Request")
def credits(request, code):
    workspace = get_membership(request, code).workspace
    form, entries = _filtered_entries(request, workspace)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "workspace": workspace,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": bool(form.is_bound and any(form.data.get(f) for f in form.fields)),
    }
    template = "accounts/credits.html"
    return render(request, f"{template}#ledger" if request.htmx else template, context)


def _cell(text):
    """Spreadsheets run cells that start with these as formulas; make them plain text."""
    text = str(text or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
def credits_csv(request, code):
    workspace = get_membership(request, code).workspace
    _, entries = _filtered_entries(request, workspace)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="coverlab-credits-{slugify(workspace.name) or "workspace"}-{stamp}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["when", "kind", "amount", "balance_after", "actor", "member", "job", "note"])
    for e in entries.iterator(chunk_size=1000):
        writer.writerow([
            e.created_at.isoformat(),
            e.kind,
            e.amount,
            e.balance_after,
            _cell(e.actor.email if e.actor else ""),
            _cell(e.member.email if e.member else ""),
            e.job.code if e.job else "",
            _cell(e.note),
        ])
    return response
