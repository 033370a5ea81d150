"""The page templates (Jinja2, autoescaped; ``html.py`` holds the base page and macros), and the
fast patient tables.

Patient tables can hold hundreds of thousands of rows in total, so they are not rendered
row by row through the ``patient_table`` macro: ``patient_table`` here builds the same HTML,
byte for byte, with column-wise string expressions (polars), escaping every value as the
autoescaping does (``& < > " '``). The pages insert it as ``{{ table }}``.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import polars as pl
from markupsafe import Markup

from pipelines.reports.files import value_text

DEVIATIONS = """{% extends "base.html.j2" %}
{% from "pager.html" import pager %}
{% from "patient_table.html" import patient_table %}
{% block content %}
<p class="meta">{{ department.hospital }} · Region {{ department.region }} · afdelingskode <code>{{ department.department_code }}</code>.
Intern liste (ikke diskretioneret) over alle patienter med status ikke opfyldt, uoplyst eller begrundet afvigelse.
Også som <a href="afvigelser.csv">CSV</a> og <a href="afvigelser.xlsx">Excel</a>; <a href="dashboard.html">afdelingens dashboard</a>.</p>
{% if page == 1 %}
<table class="counts"><thead><tr><th>Indikator</th><th class="num">Ikke opfyldt</th><th class="num">Uoplyst</th><th class="num">Begrundet</th>
{% if compared %}<th class="num">Ny</th><th class="num">Vedvarende</th><th class="num">Løst</th>{% endif %}</tr></thead><tbody>
{% for c in counts %}<tr data-indicator="{{ c.indicator_id }}"><td>{{ c.indicator_id }} {{ c.title }}</td><td class="num">{{ c.not_met }}</td><td class="num">{{ c.unknown }}</td><td class="num">{{ c.justified }}</td>
{% if compared %}<td class="num" data-col="ny">{{ c.new }}</td><td class="num" data-col="vedvarende">{{ c.persisting }}</td><td class="num" data-col="løst">{{ c.resolved }}</td>{% endif %}</tr>{% endfor %}
</tbody></table>
{% if compared %}<p class="meta">Sammenlignet med {{ previous }}.</p>{% else %}<p class="meta">Ingen tidligere audit angivet: ingen sammenligning.</p>{% endif %}
{% endif %}
{{ pager(pages, page) }}
{{ table }}
{{ pager(pages, page) }}
{% endblock %}
"""

PATIENTS = """{% extends "base.html.j2" %}
{% from "pager.html" import pager %}
{% from "patient_table.html" import patient_table %}
{% block content %}
<p class="meta">{{ description }} <a href="{{ csv }}">Hele listen som CSV</a>.</p>
{% if note %}<p class="meta note">{{ note }}</p>{% endif %}
{{ pager(pages, page) }}
{{ table }}
{{ pager(pages, page) }}
{% endblock %}
"""

DASHBOARD = """{% extends "base.html.j2" %}
{% from "patient_table.html" import patient_table %}
{% block nav %}<nav class="toc">{% for t in tiles %}<a href="#{{ t.id }}">{{ t.id }}</a>{% endfor %}
{% for link in links %}<a href="{{ link.href }}">{{ link.text }}</a>{% endfor %}</nav>{% endblock %}
{% block content %}
<p class="meta">{{ intro }}</p>
<div class="tiles">
{% for t in tiles %}
<a class="tile {{ t.state }}" href="#{{ t.id }}" data-indicator="{{ t.id }}" style="text-decoration:none;color:inherit">
<h3>{{ t.id }} {{ t.title }}</h3>
<div class="big" data-col="proportion">{{ t.proportion|pct }}</div>
<div data-col="fraction">{{ t.numerator|num }} / {{ t.denominator|num }} · CI {{ t.ci_low|ci(t.ci_high) }}</div>
<div class="small">Standard {% if t.standard is not none %}≥ {{ t.standard|pct(0) }}: {{ t.standard_met|yes_no }}{% else %}ingen{% endif %}
{% if t.position %} · tragt: {{ t.position }}{% endif %}</div>
</a>
{% endfor %}
</div>
{% if departments %}
<h2>Afdelinger</h2>
<table><thead><tr><th>Region</th><th>Hospital</th><th>Afdeling</th><th></th></tr></thead><tbody>
{% for d in departments %}<tr><td>{{ d.region }}</td><td>{{ d.hospital }}</td><td>{{ d.department_name }}</td>
<td><a href="{{ d.dashboard }}">dashboard</a> · <a href="{{ d.deviations }}">afvigelser</a></td></tr>{% endfor %}
</tbody></table>
{% endif %}
{% for t in tiles %}
<section id="{{ t.id }}" data-indicator="{{ t.id }}">
<h2>{{ t.id }} {{ t.title }}</h2>
<p class="meta">Anbefaling {{ t.recommendations }} (evidensgrad {{ t.grade }}) · opfyldt {{ t.met|num }}, ikke opfyldt {{ t.not_met|num }},
uoplyst {{ t.unknown|num }}, begrundet {{ t.justified|num }}, ekskluderet {{ t.excluded|num }}, afventer {{ t.pending|num }} ({{ current_year }})</p>
<div class="charts">{{ t.trend }}{{ t.funnel }}</div>
<h3>Patienter bag tallene ({{ current_year }}, {{ t.patient_count }})</h3>
{% if t.embedded %}
<details><summary>Vis {{ t.patient_count }} patienter</summary>
{{ t.embedded }}
</details>
{% endif %}
<p class="meta">{% if not t.embedded and t.patient_count %}Listen er lang og vises på sider: {% endif %}
{% if t.pages %}<a href="{{ t.pages }}">alle patienter {{ years[0] }}–{{ years[-1] }}</a> · <a href="{{ t.csv }}">CSV</a>{% else %}ingen patienter{% endif %}</p>
{% if t.note %}<p class="meta">{{ t.note }}</p>{% endif %}
</section>
{% endfor %}
{% endblock %}
"""

PAGES = {"deviations.html": DEVIATIONS, "patients.html": PATIENTS,
         "dashboard.html": DASHBOARD}


# --- fast patient tables ------------------------------------------------------------------

STATUS_DA = {"met": "opfyldt", "not_met": "ikke opfyldt", "unknown": "uoplyst", "justified": "begrundet afvigelse",
             "excluded": "ekskluderet", "pending": "afventer", "absent": "ikke i populationen"}


def escape_text(text: str) -> str:
    """What autoescaping makes of a text (markupsafe.escape)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
            .replace("'", "&#39;"))


def _escaped(expr: pl.Expr) -> pl.Expr:
    """``{{ value }}`` of a text column: escaped, a missing value as "None" (as Jinja prints it)."""
    return (expr.cast(pl.String).fill_null("None").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)
            .str.replace_all('"', "&#34;", literal=True).str.replace_all("'", "&#39;", literal=True))


_SPECIAL = re.compile(r"[&<>\"']")


def values_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``values_text`` (the CSV's "k = v; …") and ``values_html`` (the table's
    ``<dl>``, escaped) from ``values_json``, each distinct JSON text rendered once. Where the
    columns are there already, only their missing values are filled in."""
    if "values_text" in frame.columns and "values_html" in frame.columns:
        if frame.get_column("values_text").null_count() == 0 and frame.get_column("values_html").null_count() == 0:
            return frame
        missing = frame.filter(pl.col("values_text").is_null() | pl.col("values_html").is_null())
        lookup = _values_lookup(missing)
        return (frame.join(lookup, on="values_json", how="left", nulls_equal=True, maintain_order="left",
                           suffix="_new")
                .with_columns(values_text=pl.coalesce("values_text", "values_text_new"),
                              values_html=pl.coalesce("values_html", "values_html_new"))
                .drop("values_text_new", "values_html_new"))
    return frame.join(_values_lookup(frame), on="values_json", how="left", nulls_equal=True, maintain_order="left")


def _values_lookup(frame: pl.DataFrame) -> pl.DataFrame:
    """values_json → values_text, values_html for every distinct values_json of ``frame``.

    Per indicator (its drill-down objects share their keys) the JSON is decoded column-wise;
    a row is rendered that way only if its decoded object encodes back to exactly its text
    (same keys, order and values), and by ``_render_python`` otherwise (nested values, odd
    types, escapes, invalid JSON)."""
    dtype = frame.schema["values_json"]
    keys = ["indicator_id", "values_json"] if "indicator_id" in frame.columns else ["values_json"]
    distinct = frame.select(keys).unique("values_json")
    filled = pl.col("values_json").is_not_null() & (pl.col("values_json") != "")
    leftovers = [distinct.filter(~filled).get_column("values_json")]
    rendered = []
    usable = distinct.filter(filled)
    groups = (usable.partition_by("indicator_id", as_dict=True).values() if "indicator_id" in keys else [usable])
    # polars decodes JSON on one core: two indicators at a time (it lets go of the GIL meanwhile)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, rest in pool.map(_render_columns, [group.get_column("values_json") for group in groups]):
            rendered.append(done)
            leftovers.append(rest)
    rendered.append(_render_python(pl.concat(leftovers)))
    return pl.concat([r.cast({"values_json": dtype}) for r in rendered if r.height]
                     or [pl.DataFrame(schema={"values_json": dtype, "values_text": pl.String,
                                              "values_html": pl.String})])


def _escaped_text(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True).str.replace_all('"', "&#34;", literal=True)
            .str.replace_all("'", "&#39;", literal=True))


_VALUES_SCHEMA = {"values_json": pl.String, "values_text": pl.String, "values_html": pl.String}


def _render_columns(raw: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """The rows of ``raw`` (non-empty JSON texts) rendered column-wise, and those left over."""
    objects = raw.str.starts_with("{") & raw.str.ends_with("}")
    done, rest = _decode_and_render(raw.filter(objects))
    return done, pl.concat([rest, raw.filter(~objects)])


def decoded_values(raw: pl.Series) -> pl.DataFrame | None:
    """The drill-down objects of ``raw`` as columns (one per key, Python types as ``json.loads``
    gives them), when every object has the same keys in the same order with scalar values;
    None otherwise."""
    if raw.len() == 0 or raw.null_count() or not (raw.str.starts_with("{") & raw.str.ends_with("}")).all():
        return None
    try:
        decoded = raw.str.json_decode(infer_schema_length=200)  # exact or refused: checked below, row by row
        fields = decoded.dtype.fields
        if not fields or not all(f.dtype in (pl.String, pl.Boolean, pl.Null) or f.dtype.is_integer()
                                 or f.dtype.is_float() for f in fields):
            return None
        if not (decoded.struct.json_encode() == raw).fill_null(False).all():
            return None
    except Exception:
        return None
    return decoded.struct.unnest()


def _decode_and_render(raw: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """``_render_columns`` of JSON objects. The rows that encode back to their text are
    rendered; the others are tried again on their own (an odd row's keys widen the decoded
    shape so that no row fits it), halved when none fits, and what stays is left over."""
    nothing = pl.DataFrame(schema=_VALUES_SCHEMA)
    if raw.len() == 0:
        return nothing, raw
    try:
        decoded = raw.str.json_decode(infer_schema_length=200)
        fields = decoded.dtype.fields
        usable = bool(fields) and all(f.dtype in (pl.String, pl.Boolean, pl.Null) or f.dtype.is_integer()
                                      or f.dtype.is_float() for f in fields)
        same = (decoded.struct.json_encode() == raw).fill_null(False) if usable else None
    except Exception:  # invalid JSON or shapes that do not fit one struct
        usable = False
    if not usable or not same.any():
        if raw.len() <= 64:
            return nothing, raw
        half = raw.len() // 2
        first, second = _decode_and_render(raw.head(half)), _decode_and_render(raw.tail(raw.len() - half))
        return pl.concat([first[0], second[0]]), pl.concat([first[1], second[1]])
    frame = pl.DataFrame({"values_json": raw, "decoded": decoded}).filter(same).unnest("decoded")
    texts, htmls = [], []
    for field in fields:
        value = pl.col(field.name)
        if field.dtype == pl.String:
            shown = value
        elif field.dtype == pl.Boolean:
            shown = pl.when(value).then(pl.lit("ja")).when(value.not_()).then(pl.lit("nej"))
        elif field.dtype.is_integer():
            shown = value.cast(pl.String)
        elif field.dtype.is_float():  # Python's formatting, once per distinct value; ±0 told apart by sign
            distinct = frame.get_column(field.name).drop_nulls().unique()
            shown = (pl.when(value == 0).then(pl.when(value.cast(pl.String).str.starts_with("-"))
                                              .then(pl.lit("-0")).otherwise(pl.lit("0")))
                     .otherwise(value.replace_strict({v: value_text(v) for v in distinct.to_list() if v != 0},
                                                     default=None, return_dtype=pl.String)))
        else:
            shown = pl.lit(None, pl.String)
        shown = shown.fill_null("–")
        texts.append(pl.lit(f"{field.name} = ") + shown)
        markup = _escaped_text(shown) if field.dtype == pl.String else shown  # numbers and ja/nej: nothing to escape
        htmls.append(pl.lit(f"<dt>{escape_text(field.name)}</dt><dd>") + markup + pl.lit("</dd>"))
    done = frame.select("values_json", values_text=pl.concat_str(texts, separator="; "),
                        values_html=pl.concat_str([pl.lit('<dl class="values">'), *htmls, pl.lit("</dl>")]))
    rest = raw.filter(~same)
    if rest.len() > 64:
        more, rest = _decode_and_render(rest)
        done = pl.concat([done, more])
    return done, rest


def _render_python(distinct: pl.Series) -> pl.DataFrame:
    """values_json → values_text, values_html for each of ``distinct``, value by value (as
    ``files.values_text`` and ``deviations.display_rows`` render them)."""
    texts, htmls = [], []
    keys: dict[object, tuple[str, str]] = {}  # key -> ("key = ", "<dt>key</dt><dd>")
    loads, special = json.loads, _SPECIAL.search
    for raw in distinct.to_list():
        if not raw:
            texts.append("")
            htmls.append("")
            continue
        try:
            parsed = loads(raw)
        except (TypeError, ValueError):
            parsed = {"values_json": raw}
        if type(parsed) is not dict:
            parsed = parsed if isinstance(parsed, dict) else {"value": parsed}
        if not parsed:
            texts.append("")
            htmls.append("")
            continue
        text_parts, html_parts = [], []
        for k, v in parsed.items():
            prefix = keys.get(k)
            if prefix is None:
                name = str(k)
                prefix = keys[k] = (name + " = ", "<dt>" + (escape_text(name) if special(name) else name) + "</dt><dd>")
            kind = type(v)
            if kind is str:
                shown = v
                markup = escape_text(v) if special(v) else v
            elif kind is int:
                shown = markup = str(v)
            elif kind is bool:
                shown = markup = "ja" if v else "nej"
            elif v is None:
                shown = markup = "–"
            else:
                shown = value_text(v)
                markup = escape_text(shown) if special(shown) else shown
            text_parts.append(prefix[0] + shown)
            html_parts.append(prefix[1] + markup + "</dd>")
        texts.append("; ".join(text_parts))
        htmls.append('<dl class="values">' + "".join(html_parts) + "</dl>")
    return pl.DataFrame({"values_json": distinct.cast(pl.String), "values_text": texts, "values_html": htmls},
                        schema=_VALUES_SCHEMA)


def patient_rows(frame: pl.DataFrame, *, show_department: bool = False, show_indicator: bool = False,
                 show_change: bool = False) -> list[str]:
    """The ``<tr>`` of every row of ``frame`` as the ``patient_table`` macro writes it."""
    if frame.height == 0:
        return []
    frame = values_columns(frame)
    key = (show_department, show_indicator, show_change, frame.schema["index_date"] in (pl.Date, pl.Datetime),
           "change" in frame.columns, "previous_status" in frame.columns)
    row = _ROW_EXPRESSIONS.get(key)
    if row is None:
        row = _ROW_EXPRESSIONS[key] = _row_expression(*key)
    return frame.select(row).get_column("row").to_list()


_ROW_EXPRESSIONS: dict[tuple, pl.Expr] = {}


def _row_expression(show_department: bool, show_indicator: bool, show_change: bool, date_typed: bool,
                    has_change: bool, has_previous: bool) -> pl.Expr:
    date = pl.col("index_date").dt.strftime("%Y-%m-%d") if date_typed else pl.col("index_date")
    parts = [pl.lit('<tr class="status-'), _escaped(pl.col("status")), pl.lit('">\n<td><code>'),
             _escaped(pl.col("pseudonym")), pl.lit("</code></td>")]
    if show_indicator:
        parts += [pl.lit("<td>"), _escaped(pl.col("indicator_id")), pl.lit("</td>")]
    if show_department:
        parts += [pl.lit("<td>"), _escaped(pl.col("department_name")), pl.lit("</td>")]
    status_da = pl.col("status").replace_strict(STATUS_DA, default=pl.col("status"), return_dtype=pl.String)
    parts += [pl.lit("<td>"), _escaped(status_da), pl.lit("</td><td><code>"), _escaped(pl.col("reason_code")),
              pl.lit("</code> "), _escaped(pl.col("reason_text")), pl.lit("</td>\n<td>"),
              pl.col("values_html").fill_null(""), pl.lit('</td>\n<td class="num">'), _escaped(date),
              pl.lit("</td><td>"), _escaped(pl.col("guideline_version")), pl.lit("</td><td>"),
              _escaped(pl.col("risk")), pl.lit("</td>\n")]
    if show_change:
        change = pl.col("change") if has_change else pl.lit(None, pl.String)
        previous = pl.col("previous_status") if has_previous else pl.lit(None, pl.String)
        previous_da = previous.replace_strict(STATUS_DA, default=previous, return_dtype=pl.String)
        parts += [pl.lit('<td class="change-'), _escaped(change), pl.lit('">'),
                  _escaped(pl.when(change.is_null() | (change == "")).then(pl.lit("")).otherwise(change)),
                  pl.when(previous_da.is_null() | (previous_da == "")).then(pl.lit(""))
                  .otherwise(pl.lit(" (før: ") + _escaped(previous_da) + pl.lit(")")),
                  pl.lit("</td>")]
    parts.append(pl.lit("</tr>"))
    return pl.concat_str(parts).alias("row")


_TABLE_ENDS: dict[tuple[bool, bool, bool], tuple[str, str]] = {}


def _table_ends(show_department: bool, show_indicator: bool, show_change: bool) -> tuple[str, str]:
    """What the ``patient_table`` macro writes before the first and after the last row."""
    key = (show_department, show_indicator, show_change)
    if key not in _TABLE_ENDS:
        from pipelines.reports import html

        page = html.environment().from_string(
            '{% from "patient_table.html" import patient_table %}'
            "{{ patient_table([], show_department=d, show_indicator=i, show_change=c) }}")
        empty = page.render(d=show_department, i=show_indicator, c=show_change)
        cut = empty.index("</tbody>")
        _TABLE_ENDS[key] = (empty[:cut], empty[cut:])
    return _TABLE_ENDS[key]


def patient_table(frame: pl.DataFrame | list[str], *, show_department: bool = False, show_indicator: bool = False,
                  show_change: bool = False) -> Markup:
    """The whole ``patient_table`` macro output for ``frame`` (or for rows from ``patient_rows``)."""
    rows = frame if isinstance(frame, list) else patient_rows(
        frame, show_department=show_department, show_indicator=show_indicator, show_change=show_change)
    head, tail = _table_ends(show_department, show_indicator, show_change)
    return Markup(head + "".join(rows) + tail)
