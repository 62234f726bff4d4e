/** The report's inline stylesheet. @internal */
export const STYLE = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1340px;padding:0 16px;color:#0f172a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.muted{color:#64748b;fill:#64748b}
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f8fafc;font-weight:600}
.grid-2{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:8px 0;padding:8px;border:1px solid #e2e8f0;border-radius:6px;background:#fff}
figcaption{font-weight:600;margin-bottom:4px}
svg{display:block;max-width:100%;height:auto}svg text{font-size:11px;fill:#334155}
svg .grid{stroke:#e2e8f0;stroke-width:1}svg .axis{stroke:#94a3b8;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:-1px}
`
