// The bme-cds preview page: call a real CDS service, draw its cards like an EHR, send real feedback.
//
// Everything from the server (cards, markdown, labels, URLs) is put into the page with
// textContent and createElement only - never innerHTML - so no card content can inject markup.
"use strict";

const data = JSON.parse(document.getElementById("preview-data").textContent);
const patientSelect = document.getElementById("patient");
const callsBox = document.getElementById("calls");
const requestBox = document.getElementById("request-json");
const serviceSelect = document.getElementById("service");
const statusLine = document.getElementById("status");
const cardsBox = document.getElementById("cards");
const tokenUrl = document.body.dataset.tokenUrl;
const servicesUrl = document.body.dataset.servicesUrl;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function setStatus(text, isError) {
  statusLine.textContent = text;
  statusLine.className = isError ? "error" : "";
}

// ---- a small, safe markdown renderer (paragraphs, lists, headings, bold, italics, code, links) ----

function safeUrl(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch (error) {
    return null;
  }
}

const INLINE = /\*\*(.+?)\*\*|__(.+?)__|\*(.+?)\*|_(.+?)_|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)/;

function renderInline(text) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) { fragment.append(rest); break; }
    fragment.append(rest.slice(0, match.index));
    if (match[1] !== undefined || match[2] !== undefined) fragment.append(el("strong", {}, renderInline(match[1] ?? match[2])));
    else if (match[3] !== undefined || match[4] !== undefined) fragment.append(el("em", {}, renderInline(match[3] ?? match[4])));
    else if (match[5] !== undefined) fragment.append(el("code", {}, match[5]));
    else {
      const href = safeUrl(match[7]);
      fragment.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, match[6]) : match[6]);
    }
    rest = rest.slice(match.index + match[0].length);
  }
  return fragment;
}

function renderMarkdown(markdown) {
  // Line by line, as GitHub does: a list may follow a paragraph line directly; a blank line ends a block.
  const root = el("div", { className: "detail" });
  let paragraph = null;
  let list = null;
  for (const raw of markdown.split("\n")) {
    const line = raw.trim();
    const item = /^([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!line) {
      paragraph = list = null;
    } else if (item) {
      const kind = /\d/.test(item[1]) ? "OL" : "UL";
      if (!list || list.tagName !== kind) root.append((list = el(kind.toLowerCase())));
      paragraph = null;
      list.append(el("li", {}, renderInline(item[2])));
    } else if (heading) {
      paragraph = list = null;
      root.append(el("h4", {}, renderInline(heading[1])));
    } else if (list && /^\s{2,}/.test(raw)) {
      list.lastElementChild.append(" ", renderInline(line));
    } else {
      list = null;
      if (paragraph) paragraph.append(" ");
      else root.append((paragraph = el("p")));
      paragraph.append(renderInline(line));
    }
  }
  return root;
}
window.renderMarkdown = renderMarkdown; // for the browser tests

// ---- calling the service ----

function uuid4() {
  // crypto.randomUUID exists only in secure contexts; getRandomValues also works on plain http from another host.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function authorization(serviceId, purpose) {
  if (data.auth !== "dev-token") return {};
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ serviceId, purpose }),
  });
  if (!response.ok) throw new Error(`no preview token (HTTP ${response.status})`);
  return { Authorization: `Bearer ${(await response.json()).token}` };
}

function serviceUrl(serviceId, feedback) {
  return `${servicesUrl}/${encodeURIComponent(serviceId)}${feedback ? "/feedback" : ""}`;
}

async function callService(serviceId, body) {
  setStatus(`Calling ${serviceId}…`);
  cardsBox.replaceChildren();
  const request = { ...body, hookInstance: uuid4() };
  let response;
  try {
    response = await fetch(serviceUrl(serviceId), {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(await authorization(serviceId, "hook")) },
      body: JSON.stringify(request),
    });
  } catch (error) {
    setStatus(`The call failed: ${error.message}`, true);
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    setStatus(`HTTP ${response.status}: ${errorMessage(answer)}`, true);
    return;
  }
  const cards = answer.cards || [];
  setStatus(cards.length ? `${cards.length} card(s) from ${serviceId}` : `No cards from ${serviceId}.`);
  for (const card of cards) cardsBox.append(drawCard(serviceId, card));
}

function errorMessage(answer) {
  // Error answers are OperationOutcomes; details.text is the message for people.
  const issue = (answer.issue || [])[0];
  return (issue && issue.details && issue.details.text) || "error";
}

async function sendFeedback(serviceId, entry, cardNode, outcomeText, controls) {
  // Only the controls this answer uses up are disabled: with selectionBehavior "any" more suggestions may follow.
  controls.forEach((control) => { control.disabled = true; });
  try {
    const response = await fetch(serviceUrl(serviceId, true), {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(await authorization(serviceId, "feedback")) },
      body: JSON.stringify({ feedback: [{ ...entry, outcomeTimestamp: new Date().toISOString() }] }),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const outcome = cardNode.querySelector(".outcome");
    outcome.append(el("div", {}, outcomeText));
    if (entry.outcome === "overridden") cardNode.classList.add("done");
    setStatus(`Feedback stored: ${outcomeText}`);
  } catch (error) {
    controls.forEach((control) => { control.disabled = false; });
    setStatus(`Feedback not stored: ${error.message}`, true);
  }
}

// ---- drawing a card ----

function drawCard(serviceId, card) {
  const indicator = ["info", "warning", "critical"].includes(card.indicator) ? card.indicator : "info";
  const node = el("article", { className: `card indicator-${indicator}`, "data-card-uuid": card.uuid || "" });
  node.append(el("span", { className: "indicator" }, indicator), el("h3", { className: "summary" }, card.summary || ""));

  const source = card.source || {};
  const sourceLine = el("div", { className: "source" }, "Source: ");
  const sourceHref = source.url && safeUrl(source.url);
  sourceLine.append(sourceHref ? el("a", { href: sourceHref, target: "_blank", rel: "noopener noreferrer" }, source.label || "") : source.label || "");
  if (source.topic && source.topic.display) sourceLine.append(` · ${source.topic.display}`);
  node.append(sourceLine);

  if (card.detail) node.append(renderMarkdown(card.detail));

  if (card.suggestions && card.suggestions.length) {
    const box = el("div", { className: "suggestions" });
    for (const suggestion of card.suggestions) {
      const button = el("button", { type: "button", className: suggestion.isRecommended ? "recommended" : "" }, suggestion.label);
      button.addEventListener("click", () => sendFeedback(serviceId, {
        card: card.uuid, outcome: "accepted", acceptedSuggestions: [{ id: suggestion.uuid }],
      }, node, `Accepted: ${suggestion.label}`, [button, ...node.querySelectorAll(".dismiss *")]));
      box.append(button);
    }
    node.append(box);
  }

  if (card.links && card.links.length) {
    const box = el("div", { className: "links" });
    for (const link of card.links) {
      const href = safeUrl(link.url);
      if (href) box.append(el("a", { href, target: "_blank", rel: "noopener noreferrer" }, link.label));
    }
    node.append(box);
  }

  const dismiss = el("div", { className: "dismiss" });
  const reasons = el("select", { "aria-label": "Override reason" });
  reasons.append(el("option", { value: "" }, "Dismiss: choose a reason…"));
  (card.overrideReasons || []).forEach((reason, i) => reasons.append(el("option", { value: String(i) }, reason.display || reason.code)));
  const comment = el("input", { type: "text", placeholder: "Comment (optional)", "aria-label": "Comment" });
  const dismissButton = el("button", { type: "button", className: "dismiss-button" }, "Dismiss card");
  dismissButton.addEventListener("click", () => {
    const reason = reasons.value === "" ? null : card.overrideReasons[Number(reasons.value)];
    const overrideReason = {};
    if (reason) overrideReason.reason = reason;
    if (comment.value.trim()) overrideReason.userComment = comment.value.trim();
    const entry = { card: card.uuid, outcome: "overridden" };
    if (Object.keys(overrideReason).length) entry.overrideReason = overrideReason;
    sendFeedback(serviceId, entry, node, `Dismissed${reason ? `: ${reason.display || reason.code}` : ""}`,
      [...node.querySelectorAll("button, select, input")]);
  });
  dismiss.append(reasons, comment, dismissButton);
  node.append(dismiss, el("div", { className: "outcome", role: "status" }));
  return node;
}

// ---- choosing a call ----

function showCalls() {
  const patient = data.patients.find((p) => p.id === patientSelect.value);
  callsBox.replaceChildren();
  if (!patient) return;
  for (const call of patient.calls) {
    const button = el("button", { type: "button", "data-service": call.serviceId }, `Run ${call.request.hook}`);
    button.addEventListener("click", () => {
      requestBox.value = JSON.stringify(call.request, null, 2);
      serviceSelect.value = call.serviceId;
      callService(call.serviceId, call.request);
    });
    callsBox.append(el("div", { className: "call" }, el("strong", {}, call.serviceId), el("p", {}, `Expected: ${call.description}`), button));
  }
}

document.getElementById("run-pasted").addEventListener("click", () => {
  let body;
  try {
    body = JSON.parse(requestBox.value);
  } catch (error) {
    setStatus(`The pasted request is not JSON: ${error.message}`, true);
    return;
  }
  callService(serviceSelect.value, body);
});
patientSelect.addEventListener("change", showCalls);
showCalls();
