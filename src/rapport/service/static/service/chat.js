// The member portal's chat widget: questions go to the bot; a hand-over opens a ticket for a person.
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
    div.textContent = text;
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
  }

  function finished(data) {
    bubble(data.text, "bot", null, { url: data.ticket_url, text: data.ticket });
    input.disabled = true;
    document.getElementById("chat-send").disabled = true;
    document.getElementById("chat-human").disabled = true;
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

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    bubble(question, "me");
    input.value = "";
    try {
      const data = await post(root.dataset.askUrl, { conversation: conversation, question: question });
      if (data.handed_over) finished(data);
      else bubble(data.text, "bot", data.source);
    } catch (error) {
      bubble(error.message, "bot");
    }
  });

  document.getElementById("chat-human").addEventListener("click", async function () {
    try {
      finished(await post(root.dataset.handoverUrl, { conversation: conversation }));
    } catch (error) {
      bubble(error.message, "bot");
    }
  });
})();
