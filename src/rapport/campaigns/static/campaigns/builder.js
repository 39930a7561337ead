// The plan builder: a structured list of steps, each with the settings of its kind.
// The list is kept as plain objects ({kind, config}) and written to the hidden "steps" field on submit;
// the server checks everything again and names the step and field of any error.
(function () {
  "use strict";
  const catalogue = JSON.parse(document.getElementById("builder-catalogue").textContent);
  const steps = JSON.parse(document.getElementById("builder-steps").textContent) || [];
  const list = document.getElementById("steps");
  const form = document.getElementById("plan-form");
  const L = catalogue.labels;
  const kindLabel = Object.fromEntries(catalogue.kinds.map((k) => [k.value, k.label]));

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "value") node.value = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function field(label, input) {
    return el("label", { class: "step-field" }, [el("span", { text: label }), input]);
  }

  function select(options, value, onChange, attrs) {
    const node = el("select", attrs || {}, options.map((o) => el("option", { value: String(o.value), text: o.label })));
    node.value = value === undefined || value === null ? "" : String(value);
    node.addEventListener("change", () => onChange(node.value));
    return node;
  }

  function input(type, value, onChange, attrs) {
    const node = el("input", Object.assign({ type: type }, attrs || {}));
    node.value = value === undefined || value === null ? "" : String(value);
    node.addEventListener("input", () => onChange(node.value));
    return node;
  }

  function branchOptions(index) {
    const options = [{ value: "", label: L.next }, { value: "end", label: L.end }];
    steps.forEach((s, i) => {
      if (i !== index) options.push({ value: String(i + 1), label: `${L.step} ${i + 1}: ${kindLabel[s.kind] || s.kind}` });
    });
    return options;
  }

  function sendStepOptions(index) {
    // Only earlier send steps: a split can ask about a message already on its way.
    const options = [];
    steps.slice(0, index).forEach((s, i) => {
      if (s.kind === "send" || s.kind === "recommend") options.push({ value: String(i + 1), label: `${L.step} ${i + 1}: ${(s.config && s.config.channel) || kindLabel.send}` });
    });
    return options;
  }

  function variantRow(step, variant, vIndex) {
    const templates = catalogue.templates.filter((t) => !step.config.channel || t.channel === step.config.channel);
    const row = el("div", { class: "variant" }, [
      field(L.variant, input("text", variant.key, (v) => (variant.key = v), { size: 3, class: "variant-key" })),
      field(L.template, select([{ value: "", label: "—" }, ...templates], variant.template, (v) => (variant.template = v ? Number(v) : null), { class: "variant-template" })),
      field(L.weight, input("number", variant.weight, (v) => (variant.weight = v ? Number(v) : null), { min: 1, max: 100, class: "variant-weight" })),
    ]);
    if (step.config.variants.length > 1) {
      const remove = el("button", { type: "button", class: "linkbutton", text: L.remove });
      remove.addEventListener("click", () => { step.config.variants.splice(vIndex, 1); render(); });
      row.appendChild(remove);
    }
    return row;
  }

  function settings(step, index) {
    const c = step.config;
    switch (step.kind) {
      case "wait":
        return [
          field(L.minutes, input("number", c.minutes, (v) => (c.minutes = v ? Number(v) : null), { min: 1, class: "wait-minutes" })),
          field(L.until, input("datetime-local", (c.until || "").slice(0, 16), (v) => (c.until = v), { class: "wait-until" })),
        ];
      case "split": {
        // On a segment, or on how the customer engaged with an earlier send step's message.
        const on = select(
          [{ value: "segment", label: L.split_segment }, ...catalogue.engagements],
          c.engagement || "segment",
          (v) => {
            if (v === "segment") { delete c.engagement; delete c.send_step; delete c.within_hours; }
            else { c.engagement = v; delete c.segment; }
            render();
          },
          { class: "split-on" },
        );
        const condition = c.engagement
          ? [
            field(L.send_step, select([{ value: "", label: "—" }, ...sendStepOptions(index)], c.send_step, (v) => (c.send_step = v ? Number(v) : null), { class: "split-send-step" })),
            field(L.within_hours, input("number", c.within_hours, (v) => (c.within_hours = v ? Number(v) : null), { min: 1, class: "split-within" })),
          ]
          : [field(L.segment, select([{ value: "", label: "—" }, ...catalogue.segments], c.segment, (v) => (c.segment = v ? Number(v) : null), { class: "split-segment" }))];
        return [
          field(L.split_on, on),
          ...condition,
          field(L.yes, select(branchOptions(index), c.yes, (v) => (c.yes = v || null), { class: "split-yes" })),
          field(L.no, select(branchOptions(index), c.no, (v) => (c.no = v || null), { class: "split-no" })),
        ];
      }
      case "send":
      case "recommend": {
        c.variants = c.variants && c.variants.length ? c.variants : [{ key: "A", template: null, weight: 100 }];
        const channel = select([{ value: "", label: "—" }, ...catalogue.channels], c.channel, (v) => { c.channel = v; render(); }, { class: "send-channel" });
        const purpose = select([{ value: "marketing", label: L.marketing }, { value: "service", label: L.service }], c.purpose || "marketing", (v) => (c.purpose = v), { class: "send-purpose" });
        const variants = el("div", { class: "variants" }, c.variants.map((v, i) => variantRow(step, v, i)));
        const add = el("button", { type: "button", class: "linkbutton add-variant", text: L.add_variant });
        add.addEventListener("click", () => {
          const share = Math.floor(100 / (c.variants.length + 1));
          c.variants.forEach((v) => (v.weight = share));
          c.variants.push({ key: String.fromCharCode(65 + c.variants.length), template: null, weight: 100 - share * c.variants.length });
          render();
        });
        const leaveOut = el("input", { type: "checkbox", class: "send-exclude-running-out" });
        leaveOut.checked = Boolean(c.exclude_running_out);
        leaveOut.addEventListener("change", () => { if (leaveOut.checked) c.exclude_running_out = true; else delete c.exclude_running_out; });
        const hint = step.kind === "recommend" ? [el("p", { class: "muted small", text: L.recommend_hint })] : [];
        return [...hint, field(L.channel, channel), field(L.purpose, purpose), variants, add, field(L.exclude_running_out, leaveOut)];
      }
      case "add_tag":
      case "remove_tag":
        return [field(L.tag, select([{ value: "", label: "—" }, ...catalogue.tags], c.tag, (v) => (c.tag = v ? Number(v) : null), { class: "tag-choice" }))];
      case "notify":
        return [
          field(L.email, input("email", c.email, (v) => (c.email = v), { class: "notify-email" })),
          field(L.subject, input("text", c.subject, (v) => (c.subject = v), { class: "notify-subject" })),
          field(L.message, input("text", c.message, (v) => (c.message = v), { class: "notify-message", size: 50 })),
        ];
      case "coupon":
      case "points":
      case "task":
      case "promotion":
        return (catalogue.rewards[step.kind] || []).map((spec) =>
          field(spec.label, spec.choices
            ? select([{ value: "", label: "—" }, ...spec.choices], c[spec.name], (v) => (c[spec.name] = v), { class: `reward-${spec.name}` })
            : input(spec.type || "text", c[spec.name], (v) => (c[spec.name] = v), { class: `reward-${spec.name}` })));
      default:
        return [];
    }
  }

  function render() {
    list.replaceChildren();
    steps.forEach((step, index) => {
      step.config = step.config || {};
      const controls = el("div", { class: "step-controls" });
      [["up", -1], ["down", 1]].forEach(([label, delta]) => {
        const target = index + delta;
        if (target < 0 || target >= steps.length) return;
        const button = el("button", { type: "button", class: "linkbutton", text: L[label] });
        button.addEventListener("click", () => { [steps[index], steps[target]] = [steps[target], steps[index]]; render(); });
        controls.appendChild(button);
      });
      const remove = el("button", { type: "button", class: "linkbutton danger remove-step", text: L.remove });
      remove.addEventListener("click", () => { steps.splice(index, 1); render(); });
      controls.appendChild(remove);
      list.appendChild(el("li", { class: `step step-${step.kind}`, "data-kind": step.kind }, [
        el("div", { class: "step-head" }, [el("strong", { text: `${index + 1}. ${kindLabel[step.kind] || step.kind}` }), controls]),
        el("div", { class: "step-settings" }, settings(step, index)),
      ]));
    });
  }

  const newKind = document.getElementById("new-step-kind");
  catalogue.kinds.forEach((k) => newKind.appendChild(el("option", { value: k.value, text: k.label })));
  document.getElementById("add-step").addEventListener("click", () => {
    steps.push({ kind: newKind.value, config: {} });
    render();
  });

  function toggle() {
    // style.display, not the hidden attribute: the console's .field rule sets display and would win.
    const kind = document.getElementById("id_kind").value;
    const trigger = document.getElementById("id_trigger_type").value;
    document.querySelectorAll("[data-kinds]").forEach((node) => {
      node.style.display = node.dataset.kinds.split(" ").includes(kind) ? "" : "none";
    });
    document.querySelectorAll("[data-triggers]").forEach((node) => {
      node.style.display = node.dataset.triggers.split(" ").includes(trigger) ? "" : "none";
    });
  }
  document.getElementById("id_kind").addEventListener("change", toggle);
  document.getElementById("id_trigger_type").addEventListener("change", toggle);

  form.addEventListener("submit", () => {
    document.getElementById("id_steps").value = JSON.stringify(steps);
  });
  toggle();
  render();
})();
