/* Segment rule builder: nested AND/OR/NOT groups of conditions, written to the form as JSON.
 *
 * The condition catalogue (types, fields, operators, choices, entity kinds, units) comes from the
 * server's one condition registry in #segment-catalogue, so a condition any app registers is
 * offered here with no change to this file. Records a condition names (tags, coupon templates,
 * plans, products…) are searched by name through GET /api/v1/segments/lookup/<kind>; dates and
 * windows offer presets. Each change re-serialises the rule and, after a short pause, asks
 * POST /api/v1/segments/preview for the live count and first members (when the page has a
 * preview); a 422 answer's error paths (rule.all.0.value) are shown beside the condition.
 * The same file edits automatic tag rules. No framework, no build step.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const readJson = (id) => JSON.parse($(id).textContent);
  const catalogue = readJson("segment-catalogue");
  const T = readJson("segment-strings");
  const config = readJson("segment-config");
  const types = Object.fromEntries(catalogue.types.map((t) => [t.type, t]));
  const shapes = catalogue.value_shapes;
  const root = $("rule-builder");
  const ruleInput = $(config.ruleInput || "id_rule");
  const form = root.closest("form");
  const jsonView = $(config.jsonView || "rule-json");
  let pathMap = {};
  let timer = null;
  let requestNumber = 0;

  // Model -----------------------------------------------------------------------------------

  function group(kind, children) {
    return { node: "group", kind: kind, children: children || [] };
  }

  function fromJson(rule) {
    if (!rule || typeof rule !== "object") return group("all");
    if (Array.isArray(rule.all)) return group("all", rule.all.map(fromJson));
    if (Array.isArray(rule.any)) return group("any", rule.any.map(fromJson));
    if (rule.not) {
      const inner = rule.not;
      if (Array.isArray(inner.any)) return group("not", inner.any.map(fromJson));
      return group("not", [fromJson(inner)]);
    }
    return Object.assign({ node: "condition" }, rule);
  }

  function toJson(node, path, map) {
    map[path] = node;
    if (node.node === "condition") {
      const out = {};
      for (const [key, value] of Object.entries(node)) {
        if (key === "node" || key === "el" || value === undefined) continue;
        out[key] = value;
      }
      return out;
    }
    if (node.kind === "not") {
      if (node.children.length === 1) return { not: toJson(node.children[0], path + ".not", map) };
      return { not: { any: node.children.map((c, i) => toJson(c, `${path}.not.any.${i}`, map)) } };
    }
    return { [node.kind]: node.children.map((c, i) => toJson(c, `${path}.${node.kind}.${i}`, map)) };
  }

  let model = fromJson(JSON.parse(ruleInput.value || '{"all": []}'));
  // a single condition at the top goes inside an "all" group so more can be added
  if (model.node !== "group") model = group("all", [model]);

  // Rendering helpers -----------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }

  function select(options, value, onchange, attrs) {
    const node = el("select", attrs || {});
    for (const [optValue, label] of options) {
      const option = el("option", { value: optValue, text: label });
      if (String(optValue) === String(value)) option.selected = true;
      node.appendChild(option);
    }
    node.addEventListener("change", () => onchange(node.value));
    return node;
  }

  function opLabel(op) {
    return catalogue.op_labels[op] || op;
  }

  function shapeOf(op) {
    for (const [shape, ops] of Object.entries(shapes)) if (ops.includes(op)) return shape;
    return "single";
  }

  function inputType(kind) {
    if (kind === "date" || kind === "datetime") return "date";
    if (kind === "number" || kind === "integer") return "number";
    return "text";
  }

  function changed(rerender) {
    if (rerender) render();
    schedulePreview();
  }

  // One value input of the right kind for a field and operator.
  function valueInput(subject, op, value, set) {
    const shape = shapeOf(op);
    const kind = subject.kind;
    if (shape === "none") return null;
    if (shape === "days") {
      return el("span", {}, [
        el("input", { type: "number", min: "0", step: "1", value: value ?? "", class: "value", "aria-label": T.days,
          oninput: (e) => set(e.target.value === "" ? undefined : Number(e.target.value)) }),
        el("span", { text: " " + T.days }),
      ]);
    }
    if (shape === "list") {
      const current = Array.isArray(value) ? value : [];
      if (subject.choices.length) {
        const node = el("select", { multiple: true, class: "value", "aria-label": subject.label });
        for (const [v, label] of subject.choices) {
          const option = el("option", { value: v, text: label });
          option.selected = current.map(String).includes(String(v));
          node.appendChild(option);
        }
        node.addEventListener("change", () => set(Array.from(node.selectedOptions).map((o) => o.value)));
        return node;
      }
      return el("input", { type: "text", class: "value", placeholder: T.listHint, value: current.join(", "),
        oninput: (e) => set(e.target.value.split(",").map((s) => s.trim()).filter(Boolean)) });
    }
    if (shape === "pair") {
      const pair = Array.isArray(value) ? value.slice() : ["", ""];
      const one = (i) => el("input", { type: inputType(kind), class: "value", value: pair[i] ?? "",
        step: kind === "number" ? "0.01" : undefined,
        oninput: (e) => { pair[i] = e.target.value; set(pair.slice()); } });
      return el("span", {}, [one(0), el("span", { text: ` ${T.and} ` }), one(1)]);
    }
    if (kind === "choice" && subject.choices.length) {
      return select([["", T.pickField], ...subject.choices], value ?? "", (v) => set(v || undefined),
        { class: "value", "aria-label": subject.label });
    }
    return el("input", { type: inputType(kind), class: "value", value: value ?? "",
      step: kind === "number" ? "0.01" : kind === "integer" ? "1" : undefined,
      oninput: (e) => set(e.target.value === "" ? undefined : e.target.value) });
  }

  const WINDOW_PRESETS = [7, 30, 90, 180, 365];

  // How far back a condition looks: "any time", "last 7 days"… or a number of days.
  function windowInput(node, key) {
    const name = key || "window_days";
    const current = node[name];
    const custom = current !== undefined && !WINDOW_PRESETS.includes(Number(current));
    const unit = el("span", { text: " " + T.days, hidden: !custom });
    const number = el("input", { type: "number", min: "1", step: "1", class: "window-days", value: current ?? "",
      hidden: !custom, "aria-label": T.within,
      oninput: (e) => { node[name] = e.target.value === "" ? undefined : Number(e.target.value); changed(false); } });
    const options = [["", T.anyTime], ...WINDOW_PRESETS.map((d) => [String(d), T.lastDays.replace("%s", d)]), ["custom", T.custom]];
    const pick = select(options, custom ? "custom" : String(current ?? ""), (v) => {
      const isCustom = v === "custom";
      number.hidden = unit.hidden = !isCustom;
      if (isCustom) { number.focus(); return; }
      node[name] = v === "" ? undefined : Number(v);
      number.value = node[name] ?? "";
      changed(false);
    }, { class: "window-preset", "aria-label": T.within });
    return el("span", { class: "window" }, [pick, number, unit]);
  }

  // Dates ---------------------------------------------------------------------------------------

  function isoDay(day) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
  }

  function datePresets() {
    const today = new Date();
    const y = today.getFullYear();
    const m = today.getMonth();
    return {
      last7: ["within_last_days", 7], last30: ["within_last_days", 30], last90: ["within_last_days", 90],
      this_month: ["between", [isoDay(new Date(y, m, 1)), isoDay(today)]],
      last_month: ["between", [isoDay(new Date(y, m - 1, 1)), isoDay(new Date(y, m, 0))]],
      this_year: ["between", [isoDay(new Date(y, 0, 1)), isoDay(today)]],
    };
  }

  // A date subject's presets ("last 30 days", "this month"…); "custom" leaves the operator to pick.
  function datePresetInput(node) {
    const presets = datePresets();
    const current = Object.entries(presets).find(([, [op, value]]) =>
      op === node.op && JSON.stringify(value) === JSON.stringify(node.value));
    const options = [["", T.custom], ...Object.keys(presets).map((key) => [key, T.datePresets[key]])];
    return select(options, current ? current[0] : "", (v) => {
      if (!v) return;
      [node.op, node.value] = presets[v];
      changed(true);
    }, { class: "date-preset", "aria-label": T.when });
  }

  // Records by name ------------------------------------------------------------------------------

  const entityNames = {};

  async function lookup(kind, params) {
    const url = `${config.lookupUrl}${encodeURIComponent(kind)}?${new URLSearchParams(params)}`;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) return response.json();
    } catch (err) { /* offline: the picker shows no results */ }
    return { results: [], labels: {} };
  }

  function nameOf(kind, value) {
    return (entityNames[kind] || {})[String(value)] || String(value);
  }

  function entityFields(node) {
    const spec = types[node.type];
    return spec && spec.shape === "generic" ? spec.fields.filter((f) => f.entity && catalogue.entities[f.entity]) : [];
  }

  // Names the ids and codes a saved rule holds (one request per kind), then draws them.
  async function nameStoredValues() {
    const wanted = {};
    (function walk(node) {
      if (node.node === "group") { node.children.forEach(walk); return; }
      for (const field of entityFields(node)) {
        const value = node[field.name];
        if (value === undefined || value === null) continue;
        wanted[field.entity] = (wanted[field.entity] || []).concat(Array.isArray(value) ? value : [value]);
      }
    })(model);
    const kinds = Object.keys(wanted);
    await Promise.all(kinds.map(async (kind) => {
      const body = await lookup(kind, { values: wanted[kind].join(",") });
      entityNames[kind] = Object.assign(entityNames[kind] || {}, body.labels || {});
    }));
    if (kinds.length) render();
  }

  // A search by name for one record (or several, for a "multi" field), shown as chips.
  function entityPicker(field, value, set) {
    const multi = field.kind === "multi";
    const chosen = multi ? (Array.isArray(value) ? value.slice() : []) : (value === undefined || value === null ? [] : [value]);
    const chips = el("span", { class: "chips" });
    const input = el("input", { type: "search", class: "entity-search", autocomplete: "off",
      placeholder: T.search.replace("%s", field.label), "aria-label": field.label });
    const list = el("ul", { class: "entity-results", role: "listbox", hidden: true });
    const box = el("span", { class: "entity-picker", "data-entity": field.entity }, [chips, input, list]);
    let searchTimer = null;

    function drawChips() {
      chips.replaceChildren(...chosen.map((v, i) => el("span", { class: "chip", "data-value": v }, [
        el("span", { text: nameOf(field.entity, v) }),
        el("button", { type: "button", class: "chip-remove", text: "×", "aria-label": T.remove,
          onclick: () => { chosen.splice(i, 1); commit(); } }),
      ])));
      input.hidden = !multi && chosen.length > 0;
    }
    function commit() {
      set(multi ? (chosen.length ? chosen.slice() : undefined) : chosen[0]);
      drawChips();
    }
    function choose(v) {
      if (!multi) chosen.splice(0, chosen.length);
      if (!chosen.map(String).includes(String(v))) chosen.push(v);
      input.value = "";
      list.hidden = true;
      commit();
    }
    async function search() {
      const body = await lookup(field.entity, { q: input.value });
      const names = (entityNames[field.entity] = entityNames[field.entity] || {});
      list.replaceChildren(...body.results.map((r) => {
        names[String(r.value)] = r.label;
        return el("li", { role: "option", class: "entity-result", tabindex: "0", "data-value": r.value, text: r.label,
          onclick: () => choose(r.value),
          onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); choose(r.value); } } });
      }));
      if (!body.results.length) list.appendChild(el("li", { class: "muted", text: T.noMatch }));
      list.hidden = false;
    }
    input.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });
    input.addEventListener("focus", search);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") e.preventDefault();
      if (e.key === "Escape") list.hidden = true;
    });
    box.addEventListener("focusout", (e) => { if (!box.contains(e.relatedTarget)) list.hidden = true; });
    drawChips();
    return box;
  }

  // Conditions --------------------------------------------------------------------------------

  function resetCondition(node, type) {
    for (const key of Object.keys(node)) if (key !== "node") delete node[key];
    node.type = type;
    const spec = types[type];
    if (!spec) return;
    if (spec.shape === "bought") Object.assign(node, { op: "did", categories: [] });
    if (spec.shape === "event") Object.assign(node, { op: "did", name: "", min_count: 1 });
    if (spec.shape === "subject" && spec.subject_key === null) node.op = spec.subjects[0].ops[0];
    if (spec.shape === "generic") {
      for (const field of spec.fields) {
        if (field.default !== null && field.default !== undefined) node[field.name] = field.default;
        else if (field.required && field.kind === "choice" && field.choices.length) node[field.name] = field.choices[0][0];
      }
    }
  }

  function subjectOf(spec, node) {
    if (spec.subject_key === null) return spec.subjects[0];
    return spec.subjects.find((s) => s.value === node[spec.subject_key]);
  }

  function subjectControls(spec, node, parts) {
    if (spec.subject_key !== null) {
      parts.push(select([["", T.pickField], ...spec.subjects.map((s) => [s.value, s.label])], node[spec.subject_key] ?? "",
        (v) => {
          const keep = { node: "condition", type: node.type };
          for (const key of Object.keys(node)) delete node[key];
          Object.assign(node, keep);
          if (v) {
            node[spec.subject_key] = v;
            node.op = subjectOf(spec, node).ops[0];
          }
          changed(true);
        }, { class: "subject", "aria-label": spec.label }));
    }
    const subject = subjectOf(spec, node);
    if (!subject) return;
    if (subject.kind === "date" || subject.kind === "datetime") parts.push(datePresetInput(node));
    parts.push(select(subject.ops.map((op) => [op, opLabel(op)]), node.op, (v) => {
      const before = shapeOf(node.op);
      node.op = v;
      if (shapeOf(v) !== before) delete node.value;
      changed(true);
    }, { class: "op", "aria-label": "operator" }));
    const input = valueInput(subject, node.op, node.value, (v) => { node.value = v; changed(false); });
    if (input) parts.push(input);
    if (input && subject.unit) parts.push(el("span", { class: "unit", text: subject.unit }));
    if (spec.window && subject.kind !== "datetime") parts.push(windowInput(node));
  }

  function eventControls(spec, node, parts) {
    parts.push(select(spec.ops.map((op) => [op, opLabel(op)]), node.op, (v) => { node.op = v; changed(false); }, { class: "op" }));
    const listId = "event-names";
    if (!$(listId)) document.body.appendChild(el("datalist", { id: listId }, spec.events.map((n) => el("option", { value: n }))));
    parts.push(el("input", { type: "text", list: listId, class: "event-name", placeholder: T.event, value: node.name || "",
      oninput: (e) => { node.name = e.target.value; changed(false); },
      onchange: () => changed(true) }));
    parts.push(el("span", { text: T.atLeast + " " }));
    parts.push(el("input", { type: "number", min: "1", step: "1", class: "min-count", value: node.min_count ?? 1,
      oninput: (e) => { node.min_count = Number(e.target.value || 1); changed(false); } }));
    parts.push(el("span", { text: " " + T.times }));
    parts.push(windowInput(node));
    const propertyList = `event-properties-${(node.name || "").replace(/[^A-Za-z0-9_-]/g, "_")}`;
    if (!$(propertyList)) {
      document.body.appendChild(el("datalist", { id: propertyList },
        ((spec.properties || {})[node.name] || []).map((key) => el("option", { value: key }))));
    }
    (node.where || []).forEach((item, i) => {
      parts.push(el("span", { class: "where" }, [
        el("input", { type: "text", list: propertyList, class: "where-property", placeholder: T.property, value: item.property || "",
          oninput: (e) => { item.property = e.target.value; changed(false); } }),
        select(spec.property_ops.map((op) => [op, opLabel(op)]), item.op || "eq", (v) => { item.op = v; changed(false); }),
        el("input", { type: "text", class: "where-value", value: item.value ?? "",
          oninput: (e) => {
            const raw = e.target.value;
            const numeric = raw.trim() !== "" && !isNaN(Number(raw));
            item.value = item.op === "contains" || !numeric ? raw : Number(raw);
            changed(false);
          } }),
        el("button", { type: "button", class: "small-button", text: "×", "aria-label": T.remove,
          onclick: () => { node.where.splice(i, 1); if (!node.where.length) delete node.where; changed(true); } }),
      ]));
    });
    parts.push(el("button", { type: "button", class: "small-button add-where", text: T.where,
      onclick: () => { node.where = node.where || []; node.where.push({ property: "", op: "eq", value: "" }); changed(true); } }));
  }

  function fieldInput(field, node) {
    const set = (v) => {
      if (v === undefined) delete node[field.name];
      else node[field.name] = v;
      changed(false);
    };
    const value = node[field.name];
    if (field.entity && catalogue.entities[field.entity]) return entityPicker(field, value, set);
    if (field.kind === "days") return windowInput(node, field.name);
    const subject = { kind: field.kind, choices: field.choices, label: field.label };
    if (field.kind === "multi") return valueInput(subject, "in", value, set);
    if (field.kind === "choice" && field.choices.length) {
      return select([["", field.required ? T.pickField : T.anyOption], ...field.choices], value ?? "",
        (v) => set(v || undefined), { class: "value", "data-field": field.name, "aria-label": field.label });
    }
    if (field.kind === "boolean") {
      return select([["", T.pickField], ["true", T.yes], ["false", T.no]], value === undefined ? "" : String(value),
        (v) => set(v === "" ? undefined : v === "true"), { "data-field": field.name, "aria-label": field.label });
    }
    if (field.kind === "integer" || field.kind === "number") {
      return el("input", { type: "number", step: field.kind === "integer" ? "1" : "0.01", value: value ?? "",
        "data-field": field.name, "aria-label": field.label,
        oninput: (e) => set(e.target.value === "" ? undefined : field.kind === "integer" ? Number(e.target.value) : e.target.value) });
    }
    return el("input", { type: "text", value: value ?? "", "data-field": field.name, "aria-label": field.label,
      oninput: (e) => set(e.target.value === "" ? undefined : e.target.value) });
  }

  function genericControls(spec, node, parts) {
    for (const field of spec.fields) {
      const label = field.kind === "days" ? [] : [el("span", { class: "field-label", text: field.label + " " })];
      const unit = field.unit && field.kind !== "days" ? [el("span", { class: "unit", text: " " + field.unit })] : [];
      parts.push(el("span", { class: "generic-field", "data-field": field.name }, [...label, fieldInput(field, node), ...unit]));
    }
  }

  function renderCondition(node, parent, index) {
    const spec = types[node.type];
    const parts = [
      select([["", T.pickType], ...catalogue.types.map((t) => [t.type, t.label])], node.type || "",
        (v) => { resetCondition(node, v); changed(true); }, { class: "condition-type", "aria-label": T.pickType }),
    ];
    if (spec) {
      if (spec.shape === "subject") subjectControls(spec, node, parts);
      else if (spec.shape === "event") eventControls(spec, node, parts);
      else genericControls(spec, node, parts);
    }
    parts.push(el("button", { type: "button", class: "small-button remove", text: "×", title: T.remove, "aria-label": T.remove,
      onclick: () => { parent.children.splice(index, 1); changed(true); } }));
    const box = el("div", { class: "rule-condition" }, parts);
    node.el = box;
    return box;
  }

  function renderGroup(node, parent, index) {
    const head = el("div", { class: "group-head" }, [
      select([["all", T.all], ["any", T.any], ["not", T.not]], node.kind, (v) => { node.kind = v; changed(true); },
        { class: "group-kind", "aria-label": T.all }),
      el("button", { type: "button", class: "small-button add-condition", text: T.addCondition,
        onclick: () => { node.children.push({ node: "condition" }); changed(true); } }),
      el("button", { type: "button", class: "small-button add-group", text: T.addGroup,
        onclick: () => { node.children.push(group("any", [{ node: "condition" }])); changed(true); } }),
      parent ? el("button", { type: "button", class: "small-button remove", text: "×", title: T.remove, "aria-label": T.remove,
        onclick: () => { parent.children.splice(index, 1); changed(true); } }) : null,
    ]);
    const box = el("div", { class: `rule-group ${node.kind}` }, [head]);
    node.children.forEach((child, i) => {
      box.appendChild(child.node === "group" ? renderGroup(child, node, i) : renderCondition(child, node, i));
    });
    node.el = box;
    return box;
  }

  function render() {
    root.replaceChildren(renderGroup(model, null, 0));
    serialise();
  }

  function serialise() {
    pathMap = {};
    const rule = toJson(model, "rule", pathMap);
    const editable = ruleInput.tagName === "TEXTAREA";
    if (editable) ruleInput.value = hasConditions(model) ? JSON.stringify(rule, null, 2) : "";
    else ruleInput.value = JSON.stringify(rule);
    if (jsonView && !editable && !jsonView.hidden) jsonView.textContent = JSON.stringify(rule, null, 2);
    return rule;
  }

  // Errors ----------------------------------------------------------------------------------

  function clearErrors() {
    for (const node of root.querySelectorAll(".invalid")) node.classList.remove("invalid");
    for (const node of root.querySelectorAll(".node-error")) node.remove();
    $("rule-errors-unplaced").replaceChildren();
  }

  function showErrors(errors) {
    clearErrors();
    for (const error of errors) {
      let path = error.field || "";
      let target = null;
      while (path) {
        if (pathMap[path] && pathMap[path].el) { target = pathMap[path]; break; }
        path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
      }
      const where = (error.field || "").slice(path.length + 1);
      const message = (where && !/^\d+$/.test(where) ? where + ": " : "") + error.message;
      if (target) {
        target.el.classList.add("invalid");
        target.el.appendChild(el("p", { class: "node-error", role: "alert", "data-field": error.field, text: message }));
      } else {
        $("rule-errors-unplaced").appendChild(el("li", { text: `${error.field}: ${error.message}` }));
      }
    }
  }

  // Live preview ----------------------------------------------------------------------------

  function csrfToken() {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function hasConditions(node) {
    return node.node === "condition" || node.children.some(hasConditions);
  }

  function schedulePreview() {
    serialise();
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 350);
  }

  async function refreshPreview() {
    const rule = serialise();
    const status = $("live-status");
    if (!config.previewUrl || !status) return;
    if (!hasConditions(model)) {
      clearErrors();
      $("live-count").textContent = "—";
      $("live-preview").replaceChildren();
      status.textContent = T.empty;
      return;
    }
    const number = ++requestNumber;
    status.textContent = T.counting;
    let response;
    try {
      response = await fetch(config.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ rule: rule }),
      });
    } catch (err) {
      status.textContent = T.failed;
      return;
    }
    if (number !== requestNumber) return; // a newer edit has already asked again
    const body = await response.json().catch(() => ({}));
    if (response.status === 422) {
      showErrors((body.errors || []).map((e) => Object.assign({}, e, { field: e.field.replace(/^body\./, "") })));
      status.textContent = T.incomplete;
      return;
    }
    if (!response.ok) {
      status.textContent = T.failed;
      return;
    }
    clearErrors();
    status.textContent = "";
    $("live-count").textContent = body.count.toLocaleString();
    $("live-preview").replaceChildren(...body.preview.map((c) =>
      el("li", {}, [el("a", { href: `${config.customerUrl}${c.id}/`, text: c.name || `#${c.id}` }),
        el("span", { class: "muted small", text: ` ${c.phone || ""} ${c.city || ""}` })])));
  }

  // Wiring ----------------------------------------------------------------------------------

  $("show-json").addEventListener("click", () => {
    jsonView.hidden = !jsonView.hidden;
    serialise();
  });
  // The advanced view of a tag rule is its JSON text: an edit there replaces what the pickers show.
  if (ruleInput.tagName === "TEXTAREA") {
    ruleInput.addEventListener("change", () => {
      try {
        model = fromJson(JSON.parse(ruleInput.value || '{"all": []}'));
      } catch (err) {
        return; // the server names the mistake when the form is sent
      }
      if (model.node !== "group") model = group("all", [model]);
      changed(true);
      nameStoredValues();
    });
  }
  form.addEventListener("submit", () => serialise());

  render();
  nameStoredValues();
  const serverErrors = readJson("segment-rule-errors");
  if (serverErrors.length) showErrors(serverErrors);
  else refreshPreview();
})();
