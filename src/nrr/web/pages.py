"""The dashboard's pages: the main page (the report's sections under a filter bar), the
drill-down pages (a slice's customers, a customer's months) and the offline API docs."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from nrr.present.lineage import nrr_version
from nrr.present.tables import money, percent
from nrr.web.api import Common, Svc
from nrr.web.params import CustomerId, End, Segment, Start
from nrr.web.service import Params, Service

__all__ = ["environment", "render", "router"]

router = APIRouter(include_in_schema=False)
# Window lengths offered in the filter bar (the current one is added when it is another).
WINDOW_CHOICES = (1, 3, 6, 12, 24, 36)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("nrr.web", "templates"),
        # Customer ids, slice names and attribute values are user data: escape everything.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["percent"] = percent
    env.filters["plain"] = lambda d: format(d.normalize(), "f")
    env.filters["ticks"] = _ticks
    return env


def _ticks(text: str) -> Markup:
    """Text with `code` spans as <code>: escaped first, so only the tags added are markup."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(version=nrr_version(), **context)
    return HTMLResponse(html, status_code=status)


def _script_json(value: object) -> Markup:
    """JSON for a <script type="application/json"> block: `<` escaped so no `</script>`
    inside a value can end the block."""
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))


def _filter_bar(svc: Service, p: Params) -> dict[str, Any]:
    windows = sorted({*WINDOW_CHOICES, p.window})
    values = {name: svc.values(name) for name in svc.filterable}
    by_choices = list(svc.attributes)
    if p.by not in by_choices:
        by_choices.append(p.by)  # a combination such as segment,market given in the URL
    return {
        "months": svc.months,
        "windows": windows,
        "attributes": by_choices,
        "filterable": svc.filterable,
        "values": values.get(p.filter, []) if p.filter else [],
        "values_json": _script_json(values),
    }


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, svc: Svc, p: Common) -> HTMLResponse:
    sections = svc.sections(p)
    return render(
        "dashboard.html",
        title="Net revenue retention",
        p=p,
        bar=_filter_bar(svc, p),
        currency=svc.book.currency,
        sections=Markup(sections),  # rendered by the report with autoescape
        charts=True,
    )


@router.get("/drill/segment", response_class=HTMLResponse)
def segment_page(svc: Svc, p: Common, segment: Segment) -> HTMLResponse:
    result = svc.slice_customers(p, segment)
    totals = result.totals()

    def customer_link(customer_id: str) -> str:
        return "/drill/customer?" + urlencode({"customer": customer_id, "end": p.end})

    return render(
        "segment.html",
        title=f"{p.by} = {segment}",
        p=p,
        result=result,
        figures=result.figures,
        totals=totals,
        link=customer_link,
        back="/?" + p.query(),
        charts=False,
    )


@router.get("/drill/customer", response_class=HTMLResponse)
def customer_page(
    svc: Svc, customer: CustomerId, start: Start = None, end: End = None
) -> HTMLResponse:
    from nrr.present.charts import CONFIG
    from nrr.web.charts import customer_mrr

    history = svc.history(customer, start, end)
    figure = svc.cached(
        ("customer-chart", customer, start, end), lambda: customer_mrr(history).to_json()
    )
    back = "/?" + urlencode({"end": end}) if end else "/"
    return render(
        "customer.html",
        title=f"Customer {customer}",
        history=history,
        figure=_script_json({"figure": json.loads(figure), "config": CONFIG}),
        back=back,
        charts=True,
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """The API's documentation from its OpenAPI spec, with no asset from anywhere else."""
    spec = request.app.openapi()
    return render("docs.html", title="API", operations=_operations(spec), spec=spec, charts=False)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {**spec.get("components", {}).get("schemas", {}).get(name, {}), **schema}
    if "anyOf" in schema:
        options = [_resolve(spec, s) for s in schema["anyOf"] if s.get("type") != "null"]
        if len(options) == 1:
            return {**options[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def _schema_text(schema: dict[str, Any]) -> str:
    parts = [schema.get("type", "")]
    if "enum" in schema:
        parts = ["one of " + ", ".join(map(str, schema["enum"]))]
    if "pattern" in schema:
        parts.append(f"pattern {schema['pattern']}")
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    return ", ".join(p for p in parts if p)


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = []
            example: dict[str, str] = {}
            for param in op.get("parameters", []):
                schema = _resolve(spec, param.get("schema", {}))
                default = schema.get("default")
                params.append(
                    {
                        "name": param["name"],
                        "in": param["in"],
                        "required": param.get("required", False),
                        "type": _schema_text(schema),
                        "default": "" if default is None else str(default),
                        "description": param.get("description", ""),
                    }
                )
                examples = param.get("examples") or schema.get("examples")
                if param["in"] == "query" and param.get("required") and examples:
                    example[param["name"]] = str(examples[0])
            try_path = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    enum = _resolve(spec, param.get("schema", {})).get("enum", ["name"])
                    try_path = try_path.replace("{" + param["name"] + "}", str(enum[0]))
            responses = [
                {"status": code, "description": r.get("description", "").rstrip(".")}
                for code, r in op.get("responses", {}).items()
            ]
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": params,
                    "responses": responses,
                    "try": try_path + (f"?{urlencode(example)}" if example else ""),
                }
            )
    return operations
