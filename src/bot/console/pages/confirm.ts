import { html, type Html } from '../html.ts';

// Every action is confirmed on a page of its own (no script needed): what will happen, then the same form
// again with confirm=yes, or back. A destructive one starts on "No, go back", so Enter does not confirm it.

export function confirmView(
  question: string,
  action: string,
  fields: Record<string, string>,
  back: string,
  danger: boolean,
): Html {
  return html`
<p>${question}</p>
<form method="post" action="${action}" class="actions">
  ${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
  <input type="hidden" name="confirm" value="yes">
  ${
    danger
      ? html`<button type="submit" class="danger">Yes, do it</button> <a href="${back}" autofocus>No, go back</a>`
      : html`<button type="submit" class="primary" autofocus>Yes, do it</button> <a href="${back}">No, go back</a>`
  }
</form>`;
}
