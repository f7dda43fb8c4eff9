/** Export CSV: a confirmation with the row count, then a download link the browser follows. */
import { byId } from "../dom.js";
import { formatDay, rowCount } from "../format.js";
import { type Store, usersParams } from "../state.js";

export interface ExportContext {
  store: Store;
  token(): Promise<string>;
  showError(error: unknown): void;
}

export function mountExport(ctx: ExportContext): void {
  const dialog = byId("export-dialog", HTMLDialogElement);
  const text = byId("export-text", HTMLElement);
  const confirm = byId("export-confirm", HTMLAnchorElement);

  async function open() {
    const state = ctx.store.get();
    // Set before anything is awaited: the dialog's text is right as soon as the click ends.
    text.textContent = `Download ${rowCount(state.total)} (account id, views, creates, edits, comments) for ${formatDay(state.from)} – ${formatDay(state.to)} as CSV?`;
    // A link cannot send a header: the token goes in the query, as the API allows for the CSV.
    const params = usersParams(state, false, { jwt: await ctx.token() });
    confirm.href = `/api/reports/users.csv?${params}`;
    dialog.showModal();
  }

  byId("export", HTMLButtonElement).addEventListener("click", () => {
    open().catch(ctx.showError);
  });
  byId("export-cancel", HTMLButtonElement).addEventListener("click", () => dialog.close());
  // Closed once the click is handled, so that the link's download starts first.
  confirm.addEventListener("click", () => setTimeout(() => dialog.close(), 0));
}
