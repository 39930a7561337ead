/* Content template editor: an email built from blocks with a live preview as a chosen customer,
 * and the character and SMS segment count of a text message.
 *
 * The block types, their fields and the personalisation fields come from the server's one
 * catalogue (rapport.campaigns.delivery.blocks) in #email-editor-data; the list is kept as JSON in
 * the hidden #id_blocks field that the form posts, so the operator never types JSON. Fields such
 * as the first name are inserted as tokens ({{first_name}}) from a list. The preview asks
 * POST /api/v1/campaigns/templates/preview (errors by field, the text part) and shows the HTML in
 * a frame filled by the console's email-frame page, at desktop or phone width. Customers are found
 * by name or phone through GET /api/v1/customers?q=. SMS length follows the GSM-7 (160/153) and
 * UCS-2 (70/67) rules, as rapport.campaigns.delivery.sms counts them. No framework, no build step.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("email-editor-data").textContent);
  const T = data.strings;
  const types = Object.fromEntries(data.blocks.map((b) => [b.type, b]));
  const form = $("template-form");
  const list = $("block-list");
  const hidden = $("id_blocks");
  const channel = $("id_channel");
  let blocks = Array.isArray(data.value) ? data.value.map((b) => Object.assign({}, b)) : [];
  let errors = data.errors || {};
  let timer = null;
  let requestNumber = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  }

  function csrfToken() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Blocks ---------------------------------------------------------------------------------------

  function newBlock(type) {
    const block = { type: type };
    for (const field of types[type].fields) block[field.name] = field.default;
    return block;
  }

  function changed() {
    hidden.value = JSON.stringify(blocks);
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  }

  function tokenPicker(input) {
    const options = [el("option", { value: "", text: T.insert_field })].concat(
      data.personal_fields.map(([name, label]) => el("option", { value: name, text: label })));
    const picker = el("select", { class: "token-picker", "aria-label": T.insert_field }, options);
    picker.addEventListener("change", () => {
      if (!picker.value) return;
      const token = `{{${picker.value}}}`;
      const start = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? input.value.length;
      input.value = input.value.slice(0, start) + token + input.value.slice(end);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      picker.value = "";
      input.focus();
    });
    return picker;
  }

  function inputFor(block, field, id) {
    const value = block[field.name];
    let input;
    if (field.kind === "longtext") {
      input = el("textarea", { id: id, rows: 4, maxlength: field.max_length });
      input.value = value ?? "";
    } else if (field.kind === "choice" || field.kind === "coupon_template") {
      const choices = field.kind === "choice" ? field.choices : data.coupon_templates;
      input = el("select", { id: id }, [el("option", { value: "", text: T.choose })].concat(
        choices.map(([v, label]) => el("option", { value: String(v), text: label }))));
      input.value = value === null || value === undefined ? "" : String(value);
    } else if (field.kind === "bool") {
      input = el("input", { id: id, type: "checkbox" });
      input.checked = Boolean(value);
    } else {
      const kind = { url: "url", number: "number", color: "color" }[field.kind] || "text";
      input = el("input", { id: id, type: kind, maxlength: field.max_length });
      if (field.kind === "number") { input.min = field.minimum; input.max = field.maximum; }
      input.value = value ?? "";
    }
    input.dataset.field = field.name;
    const read = () => {
      if (field.kind === "bool") return input.checked;
      if (field.kind === "number" || field.kind === "coupon_template") return input.value === "" ? null : Number(input.value);
      return input.value;
    };
    input.addEventListener(field.kind === "bool" || input.tagName === "SELECT" ? "change" : "input", () => {
      block[field.name] = read();
      changed();
    });
    return input;
  }

  function move(index, step) {
    const target = index + step;
    if (target < 0 || target >= blocks.length) return;
    [blocks[index], blocks[target]] = [blocks[target], blocks[index]];
    errors = {};
    draw();
    changed();
  }

  function draw() {
    list.replaceChildren(...blocks.map((block, index) => {
      const spec = types[block.type];
      const head = el("div", { class: "block-head" }, [
        el("strong", { text: `${index + 1}. ${spec ? spec.label : block.type}` }),
        el("span", { class: "block-controls" }, [
          el("button", { type: "button", class: "block-up", text: "↑", title: T.up, "aria-label": T.up }),
          el("button", { type: "button", class: "block-down", text: "↓", title: T.down, "aria-label": T.down }),
          el("button", { type: "button", class: "block-remove", text: T.remove }),
        ]),
      ]);
      head.querySelector(".block-up").addEventListener("click", () => move(index, -1));
      head.querySelector(".block-down").addEventListener("click", () => move(index, 1));
      head.querySelector(".block-remove").addEventListener("click", () => {
        blocks.splice(index, 1);
        errors = {};
        draw();
        changed();
      });
      const fields = (spec ? spec.fields : []).map((field) => {
        const id = `block-${index}-${field.name}`;
        const input = inputFor(block, field, id);
        const error = errors[`blocks.${index}.${field.name}`];
        const wrap = el("div", { class: `block-field${error ? " has-error" : ""}` }, [
          el("label", { for: id, text: field.label + (field.required ? " *" : "") }),
          field.personal ? el("div", { class: "with-tokens" }, [input, tokenPicker(input)]) : input,
        ]);
        if (error) wrap.append(el("span", { class: "field-error", role: "alert", text: error }));
        return wrap;
      });
      const blockError = errors[`blocks.${index}.type`] || errors[`blocks.${index}`];
      if (blockError) fields.push(el("span", { class: "field-error", role: "alert", text: blockError }));
      return el("li", { class: "email-block", "data-type": block.type }, [head, el("div", { class: "block-fields" }, fields)]);
    }));
    if (errors.blocks) list.append(el("li", { class: "field-error", role: "alert", text: errors.blocks }));
  }

  function setUpAdd() {
    const select = $("new-block-type");
    select.replaceChildren(...data.blocks.filter((b) => b.type !== "footer" || !blocks.some((x) => x.type === "footer"))
      .map((b) => el("option", { value: b.type, text: b.label })));
    $("add-block").addEventListener("click", () => {
      const footer = blocks.findIndex((b) => b.type === "footer");
      const block = newBlock(select.value);
      // New content goes above the footer, which stays last.
      if (footer >= 0 && block.type !== "footer") blocks.splice(footer, 0, block);
      else if (block.type !== "footer" || footer < 0) blocks.push(block);
      draw();
      changed();
      const added = list.querySelector(`li:nth-child(${(footer >= 0 ? footer : blocks.length - 1) + 1}) input, li:nth-child(${(footer >= 0 ? footer : blocks.length - 1) + 1}) textarea`);
      if (added) added.focus();
    });
  }

  // Preview as a customer ------------------------------------------------------------------------

  const search = $("preview-search");
  const results = $("preview-results");
  const status = $("preview-status");
  const customer = $("id_customer");
  let searchTimer = null;

  async function findCustomers() {
    const text = search.value.trim();
    if (!text) { results.replaceChildren(); return; }
    let body = { results: [] };
    try {
      const response = await fetch(`${data.urls.customers}?${new URLSearchParams({ q: text, limit: 8 })}`,
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) body = await response.json();
    } catch (err) { /* offline: no results */ }
    if (!body.results.length) {
      results.replaceChildren(el("li", { class: "muted small", text: T.no_customers }));
      return;
    }
    results.replaceChildren(...body.results.map((c) => {
      const button = el("button", { type: "button", class: "preview-customer", "data-id": c.id }, [
        el("strong", { text: c.name || `#${c.id}` }),
        el("span", { class: "muted small", text: ` ${c.phone || ""} ${c.city || ""}` }),
      ]);
      button.addEventListener("click", () => {
        customer.value = String(c.id);
        search.value = c.name || `#${c.id}`;
        results.replaceChildren();
        status.textContent = format(T.previewing, { name: c.name || `#${c.id}` });
        preview();
      });
      return el("li", {}, [button]);
    }));
  }

  function showErrors(list_) {
    errors = Object.fromEntries(list_.filter((e) => e.field.startsWith("blocks")).map((e) => [e.field, e.message]));
    draw();
  }

  async function preview() {
    if (!isBlockEmail()) return;
    if (!customer.value) { status.textContent = T.pick_customer; return; }
    const number = ++requestNumber;
    let response;
    const payload = { customer_id: Number(customer.value), subject: $("id_subject").value, blocks: blocks };
    try {
      response = await fetch(data.urls.preview, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload),
      });
    } catch (err) {
      status.textContent = T.failed;
      return;
    }
    if (number !== requestNumber) return; // a newer edit has asked again
    const body = await response.json().catch(() => ({}));
    if (response.status === 422 || response.status === 400) {
      showErrors(body.errors || []);
      status.textContent = T.fix;
      return;
    }
    if (!response.ok) { status.textContent = T.failed; return; }
    if (Object.keys(errors).length) { errors = {}; draw(); }
    status.textContent = format(T.previewing, { name: search.value });
    $("preview-text").textContent = body.body;
    const frameForm = $("email-frame-form");
    frameForm.elements.subject.value = payload.subject;
    frameForm.elements.blocks.value = JSON.stringify(blocks);
    frameForm.elements.customer.value = customer.value;
    frameForm.submit();
  }

  function setUpPreview() {
    search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(findCustomers, 300);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); findCustomers(); }
    });
    for (const button of document.querySelectorAll(".preview-widths button")) {
      button.addEventListener("click", () => {
        $("email-preview").style.width = `${button.dataset.width}px`;
        for (const other of document.querySelectorAll(".preview-widths button")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
      });
    }
    $("id_subject").addEventListener("input", () => { if (isBlockEmail()) changed(); });
  }

  // A block email's subject takes the same fields; a plain-text one keeps its template syntax.
  const subjectPicker = tokenPicker($("id_subject"));
  subjectPicker.id = "subject-token-picker";
  $("id_subject").after(subjectPicker);
  $("id_subject").parentElement.classList.add("subject-with-tokens");

  // Plain text and SMS ---------------------------------------------------------------------------

  const GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const GSM_EXTENDED = "^{}\\[~]|€\f";

  function smsLength(text) {
    const chars = Array.from(text);
    const gsm = chars.every((c) => GSM_BASIC.includes(c) || GSM_EXTENDED.includes(c));
    const places = chars.reduce((sum, c) => sum + (gsm ? (GSM_EXTENDED.includes(c) ? 2 : 1) : (c.codePointAt(0) > 0xFFFF ? 2 : 1)), 0);
    const [single, part] = gsm ? [160, 153] : [70, 67];
    const segments = places === 0 ? 0 : places <= single ? 1 : Math.ceil(places / part);
    return { encoding: gsm ? "GSM-7" : "UCS-2", characters: places, segments: segments };
  }

  function countSms() {
    const counter = $("sms-count");
    const measured = smsLength($("id_body").value);
    const characters = format(T.characters, { count: measured.characters });
    counter.textContent = channel.value === "sms"
      ? `${characters} · ${format(T.segments, { count: measured.segments, encoding: measured.encoding })}`
      : characters;
  }

  // Which editor shows ---------------------------------------------------------------------------

  function isBlockEmail() {
    return channel.value === "email" && $("format-blocks").checked;
  }

  function switchEditor() {
    const email = channel.value === "email";
    const blockMode = isBlockEmail();
    $("format-field").hidden = !email;
    $("email-editor").hidden = !blockMode;
    $("text-body").hidden = blockMode;
    $("sms-count").hidden = !["sms", "push"].includes(channel.value);
    subjectPicker.hidden = !blockMode;
    if (blockMode && !blocks.length) blocks = [newBlock("heading"), newBlock("text"), newBlock("footer")];
    if (blockMode) { draw(); changed(); }
    countSms();
  }

  channel.addEventListener("change", switchEditor);
  $("format-blocks").addEventListener("change", switchEditor);
  $("format-text").addEventListener("change", switchEditor);
  $("id_body").addEventListener("input", countSms);
  hidden.value = JSON.stringify(blocks);
  setUpAdd();
  setUpPreview();
  switchEditor();
})();
