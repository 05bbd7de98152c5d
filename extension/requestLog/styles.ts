/** The request log's styles: layout, and every colour from VS Code's theme variables. */
export const STYLES = `
html, body { height: 100%; }
[hidden] { display: none !important; }
body { margin: 0; padding: 0; display: flex; flex-direction: column; color: var(--vscode-foreground);
  background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
.toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 8px; border-bottom: 1px solid var(--vscode-panel-border); }
input, select { color: var(--vscode-input-foreground); background: var(--vscode-input-background);
  border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; font: inherit; }
#filter { flex: 0 1 320px; min-width: 12em; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none;
  padding: 4px 10px; font: inherit; cursor: pointer; }
button:hover:not(:disabled) { background: var(--vscode-button-hoverBackground); }
button:disabled { opacity: 0.5; cursor: default; }
:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
#share-status { margin-left: auto; color: var(--vscode-descriptionForeground); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.notice { margin: 6px 8px; padding: 4px 8px; color: var(--vscode-errorForeground);
  border: 1px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); }
.split { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.list { flex: 1 1 40%; min-height: 6em; overflow: auto; }
.head, .row { display: grid; grid-template-columns: 9.5em 6em minmax(0, 1fr) 5em 6.5em 6.5em; }
.head { position: sticky; top: 0; z-index: 1; background: var(--vscode-editor-background); font-weight: 600; color: var(--vscode-descriptionForeground); }
.head > span, .row > span { padding: 2px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
/* Rows out of view skip layout and paint: a 1,000-row log stays cheap to update. */
.row { content-visibility: auto; contain-intrinsic-size: auto 1.5em; cursor: pointer; }
.num { text-align: right; }
.row .time, .row .num { font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.row .path { font-family: var(--vscode-editor-font-family); }
.row:hover { background: var(--vscode-list-hoverBackground); }
.row[aria-selected="true"] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
.row.success .status { color: var(--vscode-charts-green); }
.row.redirect .status, .row.info .status { color: var(--vscode-charts-blue); }
.row.client-error .status { color: var(--vscode-charts-yellow); }
.row.server-error .status, .row.failed .status { color: var(--vscode-errorForeground); }
.row[aria-selected="true"] > span, .row[aria-selected="true"] > .status { color: inherit; }
table.headers { border-collapse: collapse; width: 100%; }
table.headers th, table.headers td { padding: 2px 8px; text-align: left; }
.muted { color: var(--vscode-descriptionForeground); margin: 6px 8px; }
.detail { flex: 1 1 60%; overflow: auto; border-top: 1px solid var(--vscode-panel-border); padding: 4px 8px 16px; }
.detail-head { display: flex; align-items: center; gap: 12px; }
.detail h2 { font-size: 1.1em; margin: 8px 0; font-family: var(--vscode-editor-font-family); word-break: break-all; }
.detail h3 { font-size: 1em; margin: 12px 0 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--vscode-descriptionForeground); } dd { margin: 0; word-break: break-all; }
table.headers th { width: 14em; vertical-align: top; font-weight: normal; font-family: var(--vscode-editor-font-family); }
table.headers td { white-space: normal; word-break: break-all; font-family: var(--vscode-editor-font-family); }
table.headers .muted, .detail .muted { margin: 2px 0; }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button.secondary:hover:not(:disabled) { background: var(--vscode-button-secondaryHoverBackground); }
.toolbar { flex-wrap: wrap; }
.notice.info { color: var(--vscode-foreground); border-color: var(--vscode-focusBorder); }
.actions { display: flex; gap: 6px; flex-wrap: wrap; margin-left: auto; }
.sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; margin-top: 8px; }
@media (max-width: 700px) { .sides { grid-template-columns: minmax(0, 1fr); } }
.side { min-width: 0; border-top: 1px solid var(--vscode-panel-border); }
.side h3 { margin: 8px 0 2px; }
.side h4 { font-size: 0.95em; margin: 10px 0 4px; color: var(--vscode-descriptionForeground); }
.line { margin: 2px 0; font-family: var(--vscode-editor-font-family); word-break: break-all; }
.body-head { display: flex; align-items: center; gap: 8px; }
.views { display: flex; gap: 2px; }
.views button { padding: 1px 8px; color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.views button[aria-pressed="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
.cut { margin: 2px 0; color: var(--vscode-editorWarning-foreground); }
.body { margin: 4px 0; padding: 6px 8px; max-height: 32em; overflow: auto; white-space: pre-wrap; word-break: break-all;
  background: var(--vscode-textCodeBlock-background); font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.body.hex { white-space: pre; word-break: normal; }
.body img { max-width: 100%; background: repeating-conic-gradient(#8884 0% 25%, transparent 0% 50%) 50% / 16px 16px; }
.body:empty { display: none; }
.tok-key, .tok-attr { color: var(--vscode-debugTokenExpression-name); }
.tok-string { color: var(--vscode-debugTokenExpression-string); }
.tok-number { color: var(--vscode-debugTokenExpression-number); }
.tok-literal { color: var(--vscode-debugTokenExpression-boolean); }
.tok-punct { color: var(--vscode-descriptionForeground); }
.tok-tag { color: var(--vscode-symbolIcon-keywordForeground, var(--vscode-debugTokenExpression-name)); }
.tok-comment { color: var(--vscode-descriptionForeground); font-style: italic; }
mark { color: inherit; background: var(--vscode-editor-findMatchHighlightBackground); outline: 1px solid var(--vscode-editor-findMatchHighlightBorder, transparent); }
.editor { margin: 8px 0; padding: 8px; border: 1px solid var(--vscode-panel-border); display: flex; flex-direction: column; gap: 6px; }
.editor h3 { margin: 0; }
.editor label { display: flex; flex-direction: column; gap: 2px; }
.edit-line { display: flex; gap: 8px; } .edit-line .grow { flex: 1; }
.edit-line label { flex-direction: row; align-items: center; gap: 6px; }
textarea { color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent);
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); resize: vertical; }
.edit-actions { display: flex; gap: 6px; }
.comparison { margin: 8px 0; padding: 8px; border: 1px solid var(--vscode-panel-border); }
.comparison h3 { margin: 0 0 6px; } .comparison h4 { margin: 10px 0 4px; }
table.compare { border-collapse: collapse; width: 100%; font-family: var(--vscode-editor-font-family); }
table.compare th, table.compare td { padding: 1px 8px; text-align: left; vertical-align: top; word-break: break-all; font-weight: normal; }
tr.changed td.was, tr.removed td.was { background: var(--vscode-diffEditor-removedTextBackground); }
tr.changed td.now, tr.added td.now { background: var(--vscode-diffEditor-insertedTextBackground); }
.diff { white-space: pre-wrap; word-break: break-all; font-family: var(--vscode-editor-font-family); margin: 0; }
.diff .add { background: var(--vscode-diffEditor-insertedTextBackground); display: block; }
.diff .del { background: var(--vscode-diffEditor-removedTextBackground); display: block; }
.diff .gap { color: var(--vscode-descriptionForeground); display: block; font-style: italic; }
.diff .same { display: block; }
`;
