//! The frame every HTML page of the tool shares: `report.html` of a run, the `report --html`
//! history page and the evidence bundle's `index.html`. One stylesheet, inline (a page is one
//! self-contained file: no scripts, nothing fetched), and markup from `maud`, which escapes
//! every interpolated value by default: text from reports, drill files and servers can never
//! become markup.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The stylesheet of every page.
pub const STYLE: &str = "
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px}
main.wide{max-width:1180px}
h1{font-size:26px;margin:0 0 8px}
.verdict{border-radius:10px;padding:20px 24px;margin:0 0 16px;color:#fff}
.verdict .word{font-size:48px;font-weight:800;letter-spacing:.04em;line-height:1}
.verdict h1{font-size:20px;font-weight:600;margin:8px 0 4px}
.verdict p{margin:4px 0 0}
.v-met{background:#1a7f37}
.v-missed{background:#e3a008;color:#1f2328}
.v-failed,.v-error,.v-invalid{background:#cf222e}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0 12px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;background:#f6f8fa;border-radius:4px;padding:0 4px;overflow-wrap:anywhere}
.badge,.b{display:inline-block;padding:0 8px;border-radius:10px;font-size:13px;font-weight:600;white-space:nowrap;background:#eaeef2}
.good,.b-met,.b-passed,.b-answered,.b-segregated{background:#dafbe1;color:#116329}
.warn,.b-missed,.b-partly-answered,.b-not-recorded{background:#fff1c2;color:#7d4e00}
.bad,.b-failed,.b-error,.b-invalid,.b-not-answered,.b-not-segregated{background:#ffebe9;color:#a40e26}
.dim{background:#eaeef2;color:#57606a}
.err{color:#a40e26;white-space:pre-wrap;overflow-wrap:anywhere}
.warning{color:#7d4e00;font-weight:600}
.muted{color:#57606a}
ul.facts{margin:0;padding-left:20px}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 12px}
.stat{border:1px solid #eaeef2;border-radius:8px;padding:8px 14px;min-width:150px}
.stat .k{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.stat .v{font-size:20px;font-weight:700}
svg{display:block;width:100%;height:auto}
footer{color:#57606a;font-size:13px;margin:24px 0 0;overflow-wrap:anywhere}
";

/// A whole page: doctype, head with the shared stylesheet, `body` inside `<main>`.
pub fn page(title: &str, main_class: Option<&str>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main class=[main_class] { (body) }
            }
        }
    }
    .into_string()
}

/// Font attributes every chart uses.
pub const CHART_FONT: &str = "system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif";

/// A number for an SVG attribute, one decimal.
pub fn n1(x: f64) -> String {
    format!("{x:.1}")
}
