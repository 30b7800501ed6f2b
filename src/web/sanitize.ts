// Server-side sanitizing of trapped HTML (sanitize-html): no scripts, handlers, forms, frames, remote images, remote
// CSS or meta refresh survive. The result is still only ever shown in a sandboxed iframe under a strict CSP.
import sanitizeHtml from "sanitize-html";

/** HTML bodies longer than this are cut before sanitizing. */
export const MAX_HTML_CHARS = 2 * 1024 * 1024;

const ALLOWED_TAGS = [
  "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd", "div", "dl", "dt", "em",
  "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strike",
  "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
];

/** Inline style values that could load anything (url(), image-set(), @import, expression(), behaviours) are removed. */
const SAFE_CSS = [/^(?![\s\S]*(url\s*\(|image-set|@import|expression\s*\(|behavior|-moz-binding|\\))[\s\S]*$/i];

export function sanitizeMailHtml(html: string): string {
  const input = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  return sanitizeHtml(input, {
    allowedTags: ALLOWED_TAGS,
    disallowedTagsMode: "discard",
    nonTextTags: ["style", "script", "textarea", "option", "noscript", "title", "head", "template", "iframe", "object", "embed", "svg", "math"],
    allowedAttributes: {
      "*": ["style", "align", "valign", "width", "height", "bgcolor", "color", "border", "cellpadding", "cellspacing", "colspan", "rowspan", "dir", "title", "face", "size"],
      a: ["title", "rel"],
      img: ["src", "alt", "width", "height"],
    },
    allowedSchemes: ["http", "https", "mailto"],
    allowedSchemesByTag: { img: ["data"] },
    allowedSchemesAppliedToAttributes: ["href", "src"],
    allowProtocolRelative: false,
    allowedStyles: {
      "*": Object.fromEntries(
        ["color", "background-color", "font-size", "font-weight", "font-style", "font-family", "text-align", "text-decoration", "padding", "margin", "border", "width", "height", "line-height", "display", "vertical-align"].map((p) => [p, SAFE_CSS]),
      ),
    },
    transformTags: {
      // Links are shown, never followed from the frame: they open nothing (the sandbox blocks navigation anyway).
      a: (tagName, attribs) => {
        const href = attribs.href ?? "";
        return { tagName: "a", attribs: { title: /^(https?:|mailto:)/i.test(href) ? href.slice(0, 500) : "", rel: "noreferrer noopener" } };
      },
      img: (tagName, attribs): sanitizeHtml.Tag => {
        const src = attribs.src ?? "";
        if (/^data:image\/(png|gif|jpe?g|webp);base64,/i.test(src)) return { tagName: "img", attribs: { src, alt: attribs.alt ?? "" } };
        return { tagName: "span", attribs: { title: "remote image blocked" }, text: `[image${attribs.alt ? ": " + attribs.alt.slice(0, 100) : ""}]` };
      },
    },
  });
}
