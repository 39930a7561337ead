// The member portal's chat widget: questions go to the bot, each answer can be rated 👍/👎, and
// a person is contacted only when the member accepts the bot's offer (or asks for one).
(function () {
  const root = document.getElementById("chat");
  if (!root) return;
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-question");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let conversation = null;

  function bubble(text, who, source, link) {
    const div = document.createElement("div");
    div.className = "bubble " + who;
    const p = document.createElement("div");
    p.className = "text";
    p.textContent = text;
    div.appendChild(p);
    if (source) {
      const a = document.createElement("a");
      a.className = "source";
      a.href = source.url;
      a.textContent = root.dataset.sourceLabel + ": " + source.title;
      div.appendChild(a);
    }
    if (link) {
      const a = document.createElement("a");
      a.className = "source ticket-link";
      a.href = link.url;
      a.textContent = link.text;
      div.appendChild(a);
    }
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function thumbs(div, question) {
    const bar = document.createElement("div");
    bar.className = "feedback";
    const label = document.createElement("span");
    label.textContent = root.dataset.helpfulLabel + " ";
    bar.appendChild(label);
    [["up", "👍", root.dataset.yesLabel], ["down", "👎", root.dataset.noLabel]].forEach(function (spec) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "linkbutton vote vote-" + spec[0];
      button.textContent = spec[1];
      button.title = spec[2];
      button.setAttribute("aria-label", spec[2]);
      button.addEventListener("click", async function () {
        try {
          await post(root.dataset.feedbackUrl, { conversation: conversation, question: question, vote: spec[0] });
          bar.textContent = root.dataset.thanksLabel;
        } catch (error) {
          bar.textContent = error.message;
        }
      });
      bar.appendChild(button);
    });
    div.appendChild(bar);
  }

  function offer(div) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "accept-handover";
    button.textContent = root.dataset.acceptLabel;
    button.addEventListener("click", handOver);
    div.appendChild(button);
  }

  function finished(data) {
    bubble(data.text, "bot", null, { url: data.ticket_url, text: data.ticket });
    input.disabled = true;
    document.getElementById("chat-send").disabled = true;
    document.getElementById("chat-human").disabled = true;
    log.querySelectorAll(".accept-handover").forEach(function (b) { b.disabled = true; });
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error((data.errors && data.errors[0].message) || root.dataset.error);
    conversation = data.conversation || conversation;
    return data;
  }

  async function handOver() {
    try {
      finished(await post(root.dataset.handoverUrl, { conversation: conversation }));
    } catch (error) {
      bubble(error.message, "bot");
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    bubble(question, "me");
    input.value = "";
    try {
      const data = await post(root.dataset.askUrl, { conversation: conversation, question: question });
      if (data.handed_over) {
        finished(data);
      } else {
        const div = bubble(data.text, "bot", data.source);
        if (data.offer_handover) offer(div);
        else if (data.kind !== "smalltalk") thumbs(div, data.question);
      }
    } catch (error) {
      bubble(error.message, "bot");
    }
  });

  document.getElementById("chat-human").addEventListener("click", handOver);
})();
