import { escapeHtml, hasStrayBraces, placeholders, render } from "./render";

describe("render", () => {
  it("fills placeholders, including dotted paths, and leaves missing ones empty", () => {
    expect(render("Hi {{ name }}, order {{order.id}} {{missing}}!", { name: "Ann", order: { id: "o-1" } })).toBe("Hi Ann, order o-1 !");
  });

  it("escapes values, not the template, in HTML", () => {
    const out = render("<p>{{name}}</p>", { name: `<script>alert("x")</script> & 'co'` }, { html: true });
    expect(out).toBe("<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>");
  });

  it("keeps plain text as is", () => {
    expect(render("{{name}}", { name: "<b>" })).toBe("<b>");
  });

  it("leaves no empty paragraph or stray space where an optional part is empty", () => {
    const cancelled = "<p>Order {{id}} was cancelled.</p><p>{{refund}}</p>";
    expect(render(cancelled, { id: "o-1", refund: "" }, { html: true })).toBe("<p>Order o-1 was cancelled.</p>");
    expect(render(cancelled, { id: "o-1", refund: "Refunded." }, { html: true })).toBe("<p>Order o-1 was cancelled.</p><p>Refunded.</p>");
    expect(render("Order {{id}} was cancelled. {{refund}}", { id: "o-1", refund: "" })).toBe("Order o-1 was cancelled.");
    expect(render("Order {{id}}  {{refund}} now", { id: "o-1" })).toBe("Order o-1 now");
  });

  it("lists placeholders", () => {
    expect(placeholders("{{a}} and {{ b.c }} but not {x}")).toEqual(["a", "b.c"]);
  });

  it("finds a double brace that is not exactly a placeholder's, and lets single braces be", () => {
    for (const stray of ["Hi {{name", "Hi name}}", "Hi {{{name}}}", "{{{name}}", "{{name}}}", "{{{{name}}}}", "{{ {name} }}", "{{}}", "{{name}}{{"])
      expect([stray, hasStrayBraces(stray)]).toEqual([stray, true]);
    for (const fine of ["Hi {{name}}", "{{ name }}!", "{{a}}{{b.c}}", "<style>p { color: red }</style>{{name}}", "{ {{name}} }", "}{{name}}{"])
      expect([fine, hasStrayBraces(fine)]).toEqual([fine, false]);
  });

  it("escapes every HTML-significant character", () => {
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
  });
});
