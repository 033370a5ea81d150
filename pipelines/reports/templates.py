"""The national report's page template, still kept as text (Jinja2, autoescaped; its owner,
issue 16, moves it to ``pages/``). Every other page is a ``.html.j2`` file in
``pipelines/reports/pages/``; patient table rows are made by ``tables.py``.
"""

from __future__ import annotations

NATIONAL = """{% extends "base.html.j2" %}
{% block nav %}<nav class="toc">{% for ind in indicators %}<a href="#{{ ind.id }}">{{ ind.id }}</a>{% endfor %}
{% if comparison %}<a href="#sammenligning">Sammenligning</a>{% endif %}<a href="#metode">Metode</a>
{% if not publication %}<a href="dashboard.html">Dashboard</a>{% endif %}</nav>{% endblock %}
{% block content %}
{% if publication %}
<p class="note"><strong>Publikationsudgave.</strong> Antal på 1–4 patienter vises som <code>&lt;5</code> (færre end fem),
og andel og konfidensinterval vises ikke, når tæller, nævner eller nævner − tæller er 1–4. For at ingen skjult
værdi kan regnes tilbage fra totaler eller nabo-rækker, er yderligere celler skjult: <code>&lt;5</code> (0–4) eller
<code>x</code> (5 eller flere). Small cells are suppressed; see the method section.</p>
{% else %}
<p class="note"><strong>Intern udgave, ikke til publikation</strong> (uundertrykte tal). Publikationsudgaven med
diskretionering er <a href="national_report_publication.html">national_report_publication.html</a>.</p>
{% endif %}
<p>Årsrapportens tabeller viser for hvert indikator år {{ years|join(", ") }} (indeksdatoens år) for Danmark, regioner,
hospitaler og afdelinger: tæller/nævner, andel med 95 %-konfidensinterval (Wilson), om standarden er opfyldt,
og antal uoplyste, begrundede afvigelser, ekskluderede og afventende patienter.</p>

{% for ind in indicators %}
<section class="indicator" id="{{ ind.id }}" data-indicator="{{ ind.id }}">
<h2>{{ ind.id }} {{ ind.title_da }} <small class="meta">({{ ind.title_en }})</small></h2>
<p class="meta">Anbefaling {{ ind.recommendations }} (evidensgrad {{ ind.grade }}) · Standard:
{% if ind.standard is not none %}≥ {{ ind.standard|pct(0) }}{% else %}ingen (informativ indikator){% endif %}
· Indeksdato: {{ ind.index_date }} · Gælder fra retningslinje {{ ind.valid_from }}</p>
<div class="charts">{{ ind.trend }}{{ ind.funnel }}</div>
{% if ind.outliers %}<p class="meta">Uden for 95 %-grænserne i {{ current_year }}:
{% for o in ind.outliers %}{{ o.label }} ({{ o.text }}){% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
{% for table in ind.tables %}
<h3>{{ ind.id }} · {{ table.year }}</h3>
{% if not table.rows %}<p class="meta">Ingen patienter med indeksdato i {{ table.year }}.</p>{% else %}
<table class="summary" data-indicator="{{ ind.id }}" data-year="{{ table.year }}">
<thead><tr><th>Enhed</th><th class="num">Tæller</th><th class="num">Nævner</th><th class="num">Andel</th>
<th class="num">95 % CI</th><th>Standard opfyldt</th><th class="num">Ikke opfyldt</th><th class="num">Uoplyst</th>
<th class="num">Andel af oplyste</th><th class="num">Begrundet</th><th class="num">Ekskluderet</th>
<th class="num">Afventer</th><th class="num">I alt</th><th>Datakvalitet</th></tr></thead>
<tbody>
{% for r in table.rows %}
<tr class="level-{{ r.level }}" data-level="{{ r.level }}" data-unit="{{ r.unit }}">
<td class="unit">{{ r.unit_name }}{% if r.level == "department" and r.unit != r.unit_name %} <small class="meta">{{ r.unit }}</small>{% endif %}</td>
{% for col in ["met", "denominator"] %}<td class="num{% if col in r.suppressed %} sup{% endif %}" data-col="{{ col }}">{{ r[col]|num }}</td>{% endfor %}
<td class="num" data-col="proportion">{{ r.proportion|pct }}</td>
<td class="num" data-col="ci">{{ r.ci_low|ci(r.ci_high) }}</td>
<td data-col="standard_met">{{ r.standard_met|yes_no }}</td>
{% for col in ["not_met", "unknown"] %}<td class="num{% if col in r.suppressed %} sup{% endif %}" data-col="{{ col }}">{{ r[col]|num }}</td>{% endfor %}
<td class="num" data-col="proportion_known">{{ r.proportion_known|pct }}</td>
{% for col in ["justified", "excluded", "pending", "total"] %}<td class="num{% if col in r.suppressed %} sup{% endif %}" data-col="{{ col }}">{{ r[col]|num }}</td>{% endfor %}
<td class="flag" data-col="flag"{% if r.flag_title %} title="{{ r.flag_title }}"{% endif %}>{{ r.flag }}</td>
</tr>
{% endfor %}
</tbody></table>
{% endif %}
{% endfor %}
</section>
{% endfor %}

{% if comparison %}
<section id="sammenligning">
<h2>Sammenligning med forrige audit</h2>
<p class="meta">Afvigelser (ikke opfyldt, uoplyst, begrundet) sammenlignet med {{ comparison.previous }}:
ny = afvigelse nu, ikke før; vedvarende = afvigelse både før og nu; løst = afvigelse før, ikke nu.</p>
<table class="comparison"><thead><tr><th>Afdeling</th><th class="num">Ny</th><th class="num">Vedvarende</th><th class="num">Løst</th></tr></thead>
<tbody>{% for d in comparison.departments %}<tr data-unit="{{ d.department_code }}"><td>{{ d.department_name }}</td>
<td class="num">{{ d.new }}</td><td class="num">{{ d.persisting }}</td><td class="num">{{ d.resolved }}</td></tr>{% endfor %}
<tr class="level-national"><td>I alt</td><td class="num">{{ comparison.total.new }}</td><td class="num">{{ comparison.total.persisting }}</td><td class="num">{{ comparison.total.resolved }}</td></tr>
</tbody></table>
<table class="comparison"><thead><tr><th>Indikator</th><th class="num">Ny</th><th class="num">Vedvarende</th><th class="num">Løst</th></tr></thead>
<tbody>{% for d in comparison.indicators %}<tr><td>{{ d.indicator_id }}</td><td class="num">{{ d.new }}</td><td class="num">{{ d.persisting }}</td><td class="num">{{ d.resolved }}</td></tr>{% endfor %}</tbody></table>
</section>
{% endif %}

<section id="metode">
<h2>Metode (method)</h2>
<h3>Statusser</h3>
<table><thead><tr><th>Status</th><th>Betydning</th><th>I nævneren</th></tr></thead><tbody>
<tr><td>opfyldt (met)</td><td>behandlingen fulgte anbefalingen</td><td>ja, og i tælleren</td></tr>
<tr><td>ikke opfyldt (not_met)</td><td>afvigelse uden en grund, retningslinjen accepterer</td><td>ja</td></tr>
<tr><td>uoplyst (unknown)</td><td>data, der skal til for at vurdere, mangler</td><td>ja</td></tr>
<tr><td>begrundet (justified)</td><td>afvigelse med en grund, retningslinjen accepterer</td><td>nej, vises</td></tr>
<tr><td>ekskluderet (excluded)</td><td>i basispopulationen, men udelukket af en regel</td><td>nej, vises</td></tr>
<tr><td>afventer (pending)</td><td>vinduet var ikke lukket på udtræksdatoen</td><td>nej, vises</td></tr>
</tbody></table>
<p>Andel = opfyldt / (opfyldt + ikke opfyldt + uoplyst); «andel af oplyste» = opfyldt / (opfyldt + ikke opfyldt).
95 %-konfidensintervallet er Wilsons score-interval. Standard opfyldt: andelen er mindst standarden.
Året er indeksdatoens år. Reglerne anvendes i rækkefølgen ekskluderet, opfyldt, begrundet, derefter ikke opfyldt / uoplyst;
afventer erstatter ikke opfyldt eller uoplyst, så længe vinduet er åbent.</p>
<p><strong>Tragtdiagrammer (funnel plots)</strong> viser afdelingernes andel i {{ current_year }} mod nævneren med 95 %- og
99,8 %-kontrolgrænser omkring den nationale andel: eksakte binomialfordelingsfraktiler med Spiegelhalters interpolation
(Spiegelhalter 2005, som FunnelPlotR), afskåret til 0–1. Afdelinger uden for 95 %-grænserne navngives.</p>
{% if publication %}
<p><strong>Diskretionering (small cells).</strong> Antal på 1–4 i tæller, nævner eller nævner − tæller vises ikke; andel
og interval tilbageholdes. Alle viste antal på 1–4 (også ikke opfyldt, uoplyst, begrundet, ekskluderet, afventer og i alt)
vises som <code>&lt;5</code>. Rækkerne hænger sammen (nævner = tæller + ikke opfyldt + uoplyst; i alt = nævner + begrundet
+ ekskluderet + afventer; Danmark = summen af regionerne, en region = summen af dens hospitaler, et hospital = summen af
dets afdelinger), så yderligere celler er skjult, indtil ingen skjult værdi kan beregnes — hverken ved at løse
ligningerne eller ved at indsnævre grænser (<code>&lt;5</code> er 0–4, <code>x</code> er 5 eller flere).</p>
{% endif %}
<h3>Indikatorer (definitioner)</h3>
<table><thead><tr><th>Id</th><th>Titel</th><th>Anbefaling</th><th>Indeksdato</th><th>Gælder fra</th><th>Standard</th><th>Definition</th></tr></thead><tbody>
{% for d in method.indicators %}<tr><td>{{ d.id }}</td><td>{{ d.title_da }}<br><small class="meta">{{ d.title_en }}</small></td>
<td>Rec {{ d.recommendations }} ({{ d.grade }})</td><td>{{ d.index_date }}</td><td>{{ d.valid_from }}</td>
<td class="num">{% if d.standard is not none %}≥ {{ d.standard|pct(0) }}{% else %}–{% endif %}</td><td><small>{{ d.definition }}</small></td></tr>{% endfor %}
</tbody></table>
<h3>Retningslinjeversioner</h3>
<table><thead><tr><th>Version</th><th>Gælder for indeksdatoer fra</th><th>Beskrivelse</th></tr></thead><tbody>
{% for v in method.versions %}<tr><td>{{ v.version }}</td><td>{{ v.valid_from or "altid" }}</td><td>{{ v.description }}</td></tr>{% endfor %}
</tbody></table>
<h3>Parametre (vinduer og tolerancer)</h3>
<table><thead><tr><th>Parameter</th><th class="num">Værdi</th></tr></thead><tbody>
{% for name, value in method.parameters %}<tr><td><code>{{ name }}</code></td><td class="num">{{ value }}</td></tr>{% endfor %}
</tbody></table>
{% if flags_note %}<p class="meta">{{ flags_note }}</p>{% endif %}
</section>
{% endblock %}
"""

PAGES = {"national.html": NATIONAL}
