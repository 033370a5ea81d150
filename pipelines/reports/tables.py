"""Patient tables: the one place their rows are made, for every format.

``listing`` adds to patient rows the Danish columns every format shows (status, change,
dates ``dd-mm-åååå``, the drill-down values as text and as HTML, the risk as the clinician
reads it), each distinct ``values_json`` rendered once. From it:

* ``html_rows`` makes the ``<tr>`` of every row column-wise with polars (every text escaped
  as Jinja's autoescape does); the page templates give the table's head (``pages/macros``)
  and insert the rows. Patient tables can hold hundreds of thousands of rows, so rows are not
  rendered one by one through Jinja: this is the only renderer of a table row.
* ``csv_frame`` gives the Danish CSV's columns;
* the Excel sheets are made in ``deviations.py`` from the same columns.

A CPR column (``cpr``) is added by the caller to a department's own rows only, when the
re-identification key is set (``pipelines/lib/vault.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from markupsafe import escape

from pipelines.indicators.catalogue import CATALOGUE
from pipelines.lib.forked import Beside
from pipelines.reports import danish

INFORMATIONAL = [i.indicator_id for i in CATALOGUE if i.informational]
TITLES = {i.indicator_id: i.title_da for i in CATALOGUE}


def escape_text(text: str) -> str:
    return str(escape(text))


def _escaped(expr: pl.Expr) -> pl.Expr:
    """An escaped text column, missing values as ''."""
    return (expr.cast(pl.String).fill_null("").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)
            .str.replace_all('"', "&#34;", literal=True).str.replace_all("'", "&#39;", literal=True))


def _status_da(status: pl.Expr, indicator: pl.Expr) -> pl.Expr:
    general = status.replace_strict(danish.STATUS_DA, default=status, return_dtype=pl.String)
    uptake = status.replace_strict(danish.UPTAKE_DA, default=general, return_dtype=pl.String)
    return pl.when(indicator.is_in(INFORMATIONAL)).then(uptake).otherwise(general)


# distinct drill-down texts from which half are rendered by a forked process (plain Python, ≈ 25 µs
# each): below it, starting the process costs more than it saves
RENDERED_BESIDE_FROM = 50_000


def _values_lookup(values: pl.Series) -> pl.DataFrame:
    """values_json → values_text, values_html for each distinct text."""
    distinct = values.unique().to_list()
    if len(distinct) < RENDERED_BESIDE_FROM:
        texts, htmls = _rendered_values(distinct)
    else:
        half = len(distinct) // 2
        with Beside(_rendered_values, distinct[:half]) as beside:
            later_texts, later_htmls = _rendered_values(distinct[half:])
            texts, htmls = beside.result()
        texts, htmls = texts + later_texts, htmls + later_htmls
    return pl.DataFrame({"values_json": distinct, "values_text": texts, "values_html": htmls},
                        schema={"values_json": values.dtype, "values_text": pl.String, "values_html": pl.String})


def _rendered_values(distinct: list[str | None]) -> tuple[list[str], list[str]]:
    """The text and the HTML of each drill-down JSON text (plain Python: may run in a forked process)."""
    texts, htmls = [], []
    items_made: dict = {}
    html_of: dict[tuple[str, str], str] = {}  # an item's HTML, escaped once
    for raw in distinct:
        items = danish.value_items(danish.parse_values(raw), items_made)
        texts.append("; ".join(f"{label}: {text}" for label, text in items))
        if items:
            parts = []
            for item in items:
                html = html_of.get(item)
                if html is None:
                    html = html_of[item] = f"<dt>{escape(item[0])}</dt><dd>{escape(item[1])}</dd>"
                parts.append(html)
            htmls.append('<dl class="values">' + "".join(parts) + "</dl>")
        else:
            htmls.append("")
    return texts, htmls


def listing(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (patient rows: ``rpt_report_patients`` with ``risk_text``, and where compared
    ``change``, ``previous_status``) with the Danish display columns."""
    if "values_text" in frame.columns:
        return frame
    if "change" not in frame.columns:
        frame = frame.with_columns(change=pl.lit(None, pl.String), previous_status=pl.lit(None, pl.String))
    if "risk_text" not in frame.columns:
        frame = frame.with_columns(risk_text=pl.lit(None, pl.String))
    lookup = _values_lookup(frame.get_column("values_json"))
    frame = frame.join(lookup, on="values_json", how="left", nulls_equal=True, maintain_order="left")
    index_date = pl.col("index_date")
    if frame.schema["index_date"] == pl.String:
        index_date = index_date.str.to_date("%Y-%m-%d", strict=False)
    return frame.with_columns(
        title=pl.col("indicator_id").replace_strict(TITLES, default=pl.col("indicator_id"), return_dtype=pl.String),
        status_da=_status_da(pl.col("status"), pl.col("indicator_id")),
        previous_status_da=_status_da(pl.col("previous_status"), pl.col("indicator_id")),
        index_date=index_date,
        index_date_da=index_date.dt.strftime("%d-%m-%Y"),
        risk_da=pl.coalesce(pl.col("risk_text"), pl.col("risk").replace_strict(danish.RISK_DA, default=pl.col("risk"),
                                                                               return_dtype=pl.String)),
    )


def with_cprs(frame: pl.DataFrame, cprs: dict[str, str] | None) -> pl.DataFrame:
    """A department's own rows with the ``cpr`` column (from the vault), or as they are."""
    if cprs is None:
        return frame
    lookup = pl.DataFrame({"pseudonym": list(cprs), "cpr": list(cprs.values())},
                          schema={"pseudonym": pl.String, "cpr": pl.String})
    return frame.join(lookup, on="pseudonym", how="left", maintain_order="left")


# --- HTML ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False    # right-aligned; sorted by its data-sort value


COLUMNS = {
    "cpr": Column("cpr", "CPR-nummer"),
    "pseudonym": Column("pseudonym", "Pseudonym"),
    "indicator": Column("indicator", "Indikator"),
    "department": Column("department", "Afdeling"),
    "status": Column("status", "Status"),
    "change": Column("change", "Ændring"),
    "index_date": Column("index_date", "Indeksdato", numeric=True),
    "reason": Column("reason", "Årsag"),
    "values": Column("values", "Værdier brugt"),
    "risk": Column("risk", "Risiko"),
    "guideline": Column("guideline", "Retningslinje"),
}
DEVIATION_COLUMNS = ["indicator", "status", "change", "index_date", "reason", "values", "risk", "guideline"]
PATIENT_COLUMNS = ["status", "index_date", "reason", "values", "risk", "guideline"]


def columns(kind: str, *, cpr: bool = False, department: bool = False, compared: bool = True) -> list[Column]:
    """The columns of a deviation list (``deviations``) or a patient list (``patients``)."""
    keys = list(DEVIATION_COLUMNS if kind == "deviations" else PATIENT_COLUMNS)
    if not compared and "change" in keys:
        keys.remove("change")
    # with the CPR the pseudonym is left to the CSV and Excel files (where the registry matches rows)
    head = (["cpr"] if cpr else ["pseudonym"]) + (["department"] if department else [])
    return [COLUMNS[k] for k in head + keys]


def _cell(column: Column) -> list[pl.Expr]:
    key = column.key
    if key == "cpr":
        return [pl.lit('<td class="cpr"><code>'), _escaped(pl.col("cpr")), pl.lit("</code></td>")]
    if key == "pseudonym":
        return [pl.lit("<td><code>"), _escaped(pl.col("pseudonym")), pl.lit("</code></td>")]
    if key == "indicator":
        return [pl.lit('<td title="'), _escaped(pl.col("title")), pl.lit('">'), _escaped(pl.col("indicator_id")),
                pl.lit("</td>")]
    if key == "department":
        return [pl.lit("<td>"), _escaped(pl.col("department_name")), pl.lit("</td>")]
    if key == "status":
        return [pl.lit("<td>"), _escaped(pl.col("status_da")), pl.lit("</td>")]
    if key == "change":  # the status before, where it was another
        previous = pl.col("previous_status_da")
        same = previous.is_null() | (previous == "") | (pl.col("previous_status") == pl.col("status")).fill_null(False)
        return [pl.lit('<td class="change change-'), _escaped(pl.col("change")), pl.lit('">'),
                _escaped(pl.col("change")),
                pl.when(same).then(pl.lit(""))
                .otherwise(pl.lit('<br><small>før: ') + _escaped(previous) + pl.lit("</small>")), pl.lit("</td>")]
    if key == "index_date":
        return [pl.lit('<td class="num" data-sort="'), _escaped(pl.col("index_date").dt.strftime("%Y%m%d")),
                pl.lit('">'), _escaped(pl.col("index_date_da")), pl.lit("</td>")]
    if key == "reason":
        return [pl.lit('<td class="reason">'), _escaped(pl.col("reason_text")), pl.lit("</td>")]
    if key == "values":
        return [pl.lit("<td>"), pl.col("values_html").fill_null(""), pl.lit("</td>")]
    if key == "risk":
        return [pl.lit('<td class="risk">'), _escaped(pl.col("risk_da")), pl.lit("</td>")]
    if key == "guideline":
        return [pl.lit("<td>"), _escaped(pl.col("guideline_version")), pl.lit("</td>")]
    raise ValueError(f"no such column {key}")


def html_rows(frame: pl.DataFrame, cols: list[Column]) -> list[str]:
    """The ``<tr>`` of every row of ``frame`` (a ``listing``), with the attributes the page's
    filter reads (``data-status``, ``data-indicator``, ``data-change``: Danish texts)."""
    if frame.height == 0:
        return []
    parts = [pl.lit('<tr class="status-'), _escaped(pl.col("status")), pl.lit('" data-status="'),
             _escaped(pl.col("status_da")), pl.lit('" data-indicator="'), _escaped(pl.col("indicator_id")),
             pl.lit('" data-change="'), _escaped(pl.col("change")), pl.lit('">')]
    for column in cols:
        parts += _cell(column)
    parts.append(pl.lit("</tr>"))
    return frame.select(pl.concat_str(parts).alias("row")).get_column("row").to_list()


# --- CSV -------------------------------------------------------------------------------------

def csv_frame(frame: pl.DataFrame, *, cpr: bool = False, department: bool = False,
              compared: bool = True) -> pl.DataFrame:
    """A deviation or patient list (a ``listing``) in the Danish CSV's columns and words."""
    chosen = []
    if cpr:
        chosen.append(pl.col("cpr").alias("cpr-nummer"))
    chosen.append(pl.col("pseudonym"))
    if department:
        chosen += [pl.col("department_code").alias("afdelingskode"), pl.col("department_name").alias("afdeling")]
    chosen += [pl.col("indicator_id").alias("indikator"), pl.col("title").alias("indikatortitel"),
               pl.col("status_da").alias("status")]
    if compared:
        chosen += [pl.col("change").alias("ændring"), pl.col("previous_status_da").alias("tidligere status")]
    chosen += [pl.col("index_date_da").alias("indeksdato"), pl.col("reason_text").alias("årsag"),
               pl.col("values_text").alias("værdier"), pl.col("risk_da").alias("risiko"),
               pl.col("guideline_version").alias("retningslinjeversion")]
    return frame.select(chosen)
