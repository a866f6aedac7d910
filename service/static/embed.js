/*
 * News comments widget.
 *
 * Embed under an article:
 *   <div id="comments" data-article-id="nato-dialogue" data-article-title="…"
 *        data-article-url="…"></div>
 *   <script src="https://comments.example.com/embed.js" defer></script>
 *
 * Every element with `data-article-id` and the class `news-comments` or the id `comments` becomes
 * a comment section. `data-api-base` overrides the service's address (default: the origin this
 * script was loaded from). No dependencies, no cookies, no inline handlers or styles (strict CSP
 * friendly): the server's escaped `body_html` is the only markup ever parsed; everything else goes
 * through textContent and setAttribute.
 */
(() => {
  "use strict";

  // Captured synchronously: document.currentScript is only set while this script runs.
  const SCRIPT_SRC = (() => {
    const current = document.currentScript;
    if (current && current.src) return current.src;
    const scripts = document.querySelectorAll("script[src]");
    for (let i = scripts.length - 1; i >= 0; i -= 1) {
      if (/\/embed\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i].src;
    }
    return "";
  })();

  const SELECTOR = ".news-comments[data-article-id], #comments[data-article-id]";
  const STORAGE_KEY = "news-comments:author";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PER_PAGE = 50;
  const FIELDS = ["body", "name", "email", "website"];
  const FIELD_LABELS = { body: "Comment", name: "Name", email: "Email", website: "Website" };
  const TEXT = {
    empty: "Be the first to comment",
    comments: "Comments",
    loading: "Loading comments…",
    loadFailed: "Comments could not be loaded.",
    tryAgain: "Try again",
    leaveReply: "Leave a Reply",
    notes: "Your email address will not be published.",
    requiredNote: "Required fields are marked",
    remember: "Save my name, email, and website in this browser for the next time I comment.",
    submit: "Post Comment",
    reply: "Reply",
    cancelReply: "Cancel reply",
    replyingTo: "Replying to",
    removed: "This comment was removed.",
    awaiting: "Your comment is awaiting moderation.",
    older: "Older comments",
    newer: "Newer comments",
    says: "says:",
    staff: "Staff",
    anonymous: "Anonymous",
    fixFields: "Please correct the errors in the form.",
    network: "Your comment could not be sent. Please check your connection and try again.",
    report: "Report",
    reportQuestion: "Report this comment to the moderators?",
    reportNote: "Note for the moderators (optional)",
    reportConfirm: "Report comment",
    reportCancel: "Cancel",
    reportThanks: "Thank you, a moderator will look at it.",
    reportGone: "This comment can no longer be reported.",
    reportTooMany: "You have sent too many reports. Please wait before reporting again.",
    reportFailed: "Your report could not be sent. Please try again.",
  };
  const REPORT_REASONS = [
    ["spam", "Spam"],
    ["abusive", "Abusive or hateful"],
    ["off_topic", "Off topic"],
    ["other", "Something else"],
  ];
  const STATUS_MESSAGES = {
    400: "Your comment could not be read. Please try again.",
    403: "Your comment was not accepted.",
    409: "This comment has already been submitted.",
    413: "Your comment is too long.",
    415: "Your comment could not be read. Please try again.",
    429: "You are posting comments too quickly.",
    503: "Comments are briefly unavailable. Please try again shortly.",
  };
  const GENERIC_ERROR = "Your comment could not be posted. Please try again.";

  let widgetCount = 0;
  const loadedStyles = new Set();

  /* ---------- small helpers ---------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.setAttribute("class", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function safeHttpUrl(value) {
    if (typeof value !== "string" || !/^https?:\/\//i.test(value)) return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_error) {
      return null;
    }
  }

  function resolveApiBase(container) {
    const given = container.getAttribute("data-api-base");
    const candidates = [];
    if (given && given.trim()) candidates.push(given.trim());
    if (SCRIPT_SRC) candidates.push(SCRIPT_SRC);
    for (const candidate of candidates) {
      try {
        const url = new URL(candidate, document.baseURI);
        if (url.protocol !== "http:" && url.protocol !== "https:") continue;
        if (candidate === given?.trim()) return (url.origin + url.pathname).replace(/\/+$/, "");
        return url.origin;
      } catch (_error) {
        // try the next candidate
      }
    }
    return window.location.origin;
  }

  function loadStyles(apiBase) {
    const href = `${apiBase}/embed.css`;
    if (loadedStyles.has(href)) return;
    loadedStyles.add(href);
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      if (link.href === href) return;
    }
    const link = el("link", { rel: "stylesheet", href, "data-nc-styles": "" });
    (document.head || document.documentElement).append(link);
  }

  function readAuthor() {
    try {
      const raw = window.localStorage.getItem(STORAGE_KEY);
      if (!raw) return null;
      const data = JSON.parse(raw);
      return data && typeof data === "object" ? data : null;
    } catch (_error) {
      return null;
    }
  }

  function saveAuthor(author) {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(author));
    } catch (_error) {
      // storage unavailable (private mode, sandbox): nothing to remember
    }
  }

  function forgetAuthor() {
    try {
      window.localStorage.removeItem(STORAGE_KEY);
    } catch (_error) {
      // storage unavailable
    }
  }

  function countHeading(count, ownPending = false) {
    const n = Number(count) || 0;
    // Not an invitation to be first right above the reader's own comment awaiting moderation.
    if (n <= 0) return ownPending ? TEXT.comments : TEXT.empty;
    return n === 1 ? "1 Comment" : `${n} Comments`;
  }

  const dateFormat = (() => {
    const options = { dateStyle: "long", timeStyle: "short" };
    const lang = document.documentElement.getAttribute("lang") || undefined;
    try {
      return new Intl.DateTimeFormat(lang, options);
    } catch (_error) {
      return new Intl.DateTimeFormat(undefined, options);
    }
  })();

  function formatDate(value) {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return "";
    return dateFormat.format(date);
  }

  function retryAfterSeconds(header) {
    if (!header) return null;
    const trimmed = header.trim();
    if (/^\d+$/.test(trimmed)) return Math.max(1, parseInt(trimmed, 10));
    const when = Date.parse(trimmed);
    if (Number.isNaN(when)) return null;
    return Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  /* POST the payload as JSON: the response and its JSON answer (null when the body is not JSON).
     Rejects only when the request itself fails (network, CORS). */
  async function postJson(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
      credentials: "omit",
    });
    const data = await response.json().catch(() => null);
    return { response, data };
  }

  /* ---------- identicon: a 5x5 symmetric grid from the 16-hex-digit seed ---------- */

  function identicon(seed) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "nc-avatar");
    svg.setAttribute("viewBox", "0 0 6 6");
    svg.setAttribute("width", "40");
    svg.setAttribute("height", "40");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const background = document.createElementNS(SVG_NS, "rect");
    setAttrs(background, { width: 6, height: 6, fill: "#f0f0f1" });
    svg.append(background);
    if (typeof seed !== "string" || !/^[0-9a-f]{16}$/i.test(seed)) {
      svg.setAttribute("class", "nc-avatar nc-avatar-blank");
      return svg;
    }
    const bytes = [];
    for (let i = 0; i < 16; i += 2) bytes.push(parseInt(seed.slice(i, i + 2), 16));
    const hue = ((bytes[0] << 8) | bytes[1]) % 360;
    const saturation = 45 + (bytes[2] % 25);
    const lightness = 38 + (bytes[3] % 17);
    const fill = `hsl(${hue}, ${saturation}%, ${lightness}%)`;
    let bits = ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>> 0;
    if ((bits & 0x7fff) === 0) bits |= 0x2492; // never an empty face: fill the middle column
    const group = document.createElementNS(SVG_NS, "g");
    group.setAttribute("fill", fill);
    for (let row = 0; row < 5; row += 1) {
      for (let col = 0; col < 3; col += 1) {
        if (!((bits >>> (row * 3 + col)) & 1)) continue;
        const columns = col === 2 ? [2] : [col, 4 - col];
        for (const x of columns) {
          const cell = document.createElementNS(SVG_NS, "rect");
          setAttrs(cell, { x: x + 0.5, y: row + 0.5, width: 1, height: 1 });
          group.append(cell);
        }
      }
    }
    svg.append(group);
    return svg;
  }

  /* ---------- the widget ---------- */

  class CommentsWidget {
    constructor(container) {
      widgetCount += 1;
      this.container = container;
      this.articleId = container.getAttribute("data-article-id") || "";
      const rawId = container.id || `nc-comments-${widgetCount}`;
      this.prefix = rawId.replace(/[^A-Za-z0-9_-]/g, "_");
      this.apiBase = resolveApiBase(container);
      this.apiUrl = `${this.apiBase}/api/v1/articles/${encodeURIComponent(this.articleId)}/comments`;
      this.page = 1;
      this.pages = 0;
      this.count = 0;
      this.loadToken = 0;
      this.sending = false;
      this.pending = []; // {comment, parentId, page}: the reader's own, awaiting moderation
      this.replyButton = null;
      loadStyles(this.apiBase);
      this.build();
      this.prefill();
      this.load(1, { initial: true });
    }

    id(suffix) {
      return `${this.prefix}-${suffix}`;
    }

    commentDomId(commentId) {
      return this.id(`comment-${commentId}`);
    }

    /* ----- static structure ----- */

    build() {
      const c = this.container;
      c.classList.add("nc-comments");
      c.setAttribute("data-nc-ready", "");
      c.replaceChildren();

      this.live = el("div", {
        class: "nc-live nc-visually-hidden",
        id: this.id("live"),
        "aria-live": "polite",
        "aria-atomic": "true",
      });
      this.title = el("h2", {
        class: "nc-title",
        id: this.id("title"),
        tabindex: "-1",
        text: TEXT.loading,
      });
      this.loadStatus = el("div", { class: "nc-load-status", id: this.id("load-status") });
      this.list = el("ol", {
        class: "nc-comment-list",
        id: this.id("list"),
        hidden: true,
      });

      this.olderButton = el("button", {
        type: "button",
        class: "nc-page-button nc-older",
        id: this.id("older"),
        text: TEXT.older,
        hidden: true,
      });
      this.newerButton = el("button", {
        type: "button",
        class: "nc-page-button nc-newer",
        id: this.id("newer"),
        text: TEXT.newer,
        hidden: true,
      });
      this.pagination = el(
        "nav",
        {
          class: "nc-pagination",
          id: this.id("pagination"),
          "aria-label": "Comments navigation",
          hidden: true,
        },
        el("div", { class: "nc-nav-previous" }, this.olderButton),
        el("div", { class: "nc-nav-next" }, this.newerButton),
      );
      this.olderButton.addEventListener("click", () => this.goTo(this.page - 1));
      this.newerButton.addEventListener("click", () => this.goTo(this.page + 1));

      this.respond = this.buildForm();

      this.section = el(
        "section",
        { class: "nc-section", "aria-labelledby": this.id("title") },
        this.live,
        this.title,
        this.loadStatus,
        this.list,
        this.pagination,
        this.respond,
      );
      c.append(this.section);
    }

    buildForm() {
      const field = (name, label, control) => {
        control.id = this.id(name);
        control.setAttribute("name", name);
        return el(
          "p",
          { class: `nc-field nc-field-${name}` },
          el("label", { for: control.id }, `${label} `, el("span", { class: "nc-required", text: "*" })),
          control,
        );
      };
      this.inputs = {
        body: el("textarea", { rows: "8", cols: "45", required: true, "aria-required": "true" }),
        name: el("input", { type: "text", autocomplete: "name", required: true, "aria-required": "true" }),
        email: el("input", {
          type: "email",
          autocomplete: "email",
          required: true,
          "aria-required": "true",
        }),
        website: el("input", { type: "url", autocomplete: "url", id: this.id("website") }),
      };
      this.inputs.website.setAttribute("name", "website");
      for (const [name, input] of Object.entries(this.inputs)) {
        input.classList.add("nc-input", `nc-input-${name}`);
      }
      this.remember = el("input", {
        type: "checkbox",
        id: this.id("remember"),
        name: "remember",
        value: "yes",
        class: "nc-remember",
      });
      this.parentInput = el("input", { type: "hidden", name: "parent_id", id: this.id("parent-id"), value: "" });
      // A field people never see or reach: bots fill it in, and the service files them as spam.
      this.trap = el("input", {
        type: "text",
        name: "subject",
        id: this.id("subject"),
        tabindex: "-1",
        autocomplete: "off",
        class: "nc-trap-input",
      });
      this.status = el("div", {
        class: "nc-form-status",
        id: this.id("status"),
        role: "alert",
      });
      // Field errors, listed where the form starts and announced at once; each links to its field.
      this.summaryList = el("ul", { class: "nc-error-summary-list" });
      this.summary = el(
        "div",
        { class: "nc-error-summary", id: this.id("error-summary"), role: "alert", hidden: true },
        el("p", { class: "nc-error-summary-title", text: TEXT.fixFields }),
        this.summaryList,
      );
      for (const [name, input] of Object.entries(this.inputs)) {
        // A field's error goes as soon as the reader changes what it was about.
        input.addEventListener("input", () => this.clearFieldError(name));
      }
      this.submitButton = el("button", {
        type: "submit",
        class: "nc-submit",
        id: this.id("submit"),
        text: TEXT.submit,
      });
      this.cancelButton = el("button", {
        type: "button",
        class: "nc-cancel-reply",
        id: this.id("cancel-reply"),
        text: TEXT.cancelReply,
      });
      this.replyingTo = el("span", { class: "nc-replying-to", id: this.id("replying-to") });
      this.replyContext = el(
        "p",
        { class: "nc-reply-context", id: this.id("reply-context"), hidden: true },
        this.replyingTo,
        " ",
        this.cancelButton,
      );
      this.cancelButton.addEventListener("click", (event) => {
        event.preventDefault();
        this.cancelReply({ restoreFocus: true });
      });

      this.form = el(
        "form",
        {
          class: "nc-form",
          id: this.id("form"),
          novalidate: true,
          "aria-labelledby": this.id("reply-title"),
        },
        el(
          "p",
          { class: "nc-notes" },
          el("span", { class: "nc-email-notes", id: this.id("email-notes"), text: TEXT.notes }),
          ` ${TEXT.requiredNote} `,
          el("span", { class: "nc-required", text: "*" }),
        ),
        this.summary,
        el(
          "p",
          { class: "nc-trap", "aria-hidden": "true" },
          el("label", { for: this.id("subject"), text: "Leave this field empty" }),
          this.trap,
        ),
        field("body", "Comment", this.inputs.body),
        field("name", "Name", this.inputs.name),
        field("email", "Email", this.inputs.email),
        el(
          "p",
          { class: "nc-field nc-field-website" },
          el("label", { for: this.id("website"), text: "Website" }),
          this.inputs.website,
        ),
        el(
          "p",
          { class: "nc-field nc-remember-field" },
          this.remember,
          " ",
          el("label", { for: this.id("remember"), text: TEXT.remember }),
        ),
        this.status,
        el("p", { class: "nc-form-submit" }, this.submitButton, this.parentInput),
      );
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });

      return el(
        "div",
        { class: "nc-respond", id: this.id("respond") },
        el("h3", { class: "nc-reply-title", id: this.id("reply-title"), text: TEXT.leaveReply }),
        this.replyContext,
        this.form,
      );
    }

    prefill() {
      const author = readAuthor();
      if (!author) return;
      for (const name of ["name", "email", "website"]) {
        if (typeof author[name] === "string") this.inputs[name].value = author[name];
      }
      this.remember.checked = true;
    }

    announce(message) {
      this.live.textContent = "";
      // A fresh text node after a tick makes screen readers announce repeated messages too.
      window.setTimeout(() => {
        this.live.textContent = message;
      }, 50);
    }

    /* ----- loading and rendering the published comments ----- */

    goTo(page) {
      if (page < 1 || (this.pages && page > this.pages)) return;
      this.load(page, { focusTitle: true });
    }

    async load(page, { initial = false, focusTitle = false } = {}) {
      const token = ++this.loadToken;
      this.list.setAttribute("aria-busy", "true");
      this.olderButton.disabled = true;
      this.newerButton.disabled = true;
      const url = `${this.apiUrl}?page=${encodeURIComponent(page)}&per_page=${PER_PAGE}&sort=oldest`;
      let data;
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          credentials: "omit",
          cache: "no-cache",
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        data = await response.json();
        if (!data || !Array.isArray(data.comments)) throw new Error("unexpected answer");
      } catch (_error) {
        if (token !== this.loadToken) return;
        this.showLoadError(page, { initial });
        return;
      }
      if (token !== this.loadToken) return;
      this.render(data);
      if (focusTitle) {
        this.title.focus();
        this.announce(`${countHeading(this.count)}, page ${this.page} of ${this.pages}.`);
      } else if (initial) {
        this.revealHashTarget();
      }
    }

    showLoadError(page, { initial }) {
      this.list.removeAttribute("aria-busy");
      this.olderButton.disabled = false;
      this.newerButton.disabled = false;
      if (initial) this.title.textContent = "Comments";
      const retry = el("button", { type: "button", class: "nc-retry", text: TEXT.tryAgain });
      retry.addEventListener("click", () => {
        this.loadStatus.replaceChildren();
        this.load(page, { initial, focusTitle: !initial });
      });
      this.loadStatus.replaceChildren(
        el("p", { class: "nc-load-error", role: "alert" }, `${TEXT.loadFailed} `, retry),
      );
    }

    render(data) {
      // The form may sit inside a comment about to be replaced: put it back first.
      if (this.list.contains(this.respond)) this.cancelReply({ restoreFocus: false });
      this.count = Number(data.count) || 0;
      this.page = Number(data.page) || 1;
      this.pages = Number(data.pages) || 0;
      this.loadStatus.replaceChildren();

      const fragment = document.createDocumentFragment();
      const publishedIds = new Set();
      for (const comment of data.comments) fragment.append(this.renderComment(comment, publishedIds));
      this.list.replaceChildren(fragment);
      this.list.removeAttribute("aria-busy");

      // The reader's own comments awaiting moderation stay in view until they are published.
      this.pending = this.pending.filter((entry) => !publishedIds.has(entry.comment.id));
      for (const entry of this.pending) {
        if (entry.parentId) {
          const parent = this.findCommentItem(entry.parentId);
          if (parent) this.appendChildItem(parent, this.renderPending(entry));
        } else if (entry.page === this.page || this.page >= this.pages) {
          this.list.append(this.renderPending(entry));
        }
      }
      this.list.hidden = this.list.childElementCount === 0;
      this.title.textContent = this.heading();

      const paged = this.pages > 1;
      this.pagination.hidden = !paged;
      this.olderButton.hidden = !(paged && this.page > 1);
      this.newerButton.hidden = !(paged && this.page < this.pages);
      this.olderButton.disabled = false;
      this.newerButton.disabled = false;
    }

    heading() {
      return countHeading(this.count, this.list.querySelector("li.nc-pending") !== null);
    }

    findCommentItem(commentId) {
      const wanted = String(commentId);
      for (const item of this.list.querySelectorAll("li.nc-comment")) {
        if (item.getAttribute("data-comment-id") === wanted) return item;
      }
      return null;
    }

    appendChildItem(parentItem, childItem) {
      let children = null;
      for (const node of parentItem.children) {
        if (node.matches("ol.nc-children")) children = node;
      }
      if (!children) {
        children = el("ol", { class: "nc-children" });
        parentItem.append(children);
      }
      children.append(childItem);
    }

    renderComment(comment, publishedIds, depth = 1) {
      publishedIds.add(comment.id);
      const removed = comment.removed === true;
      const item = el("li", {
        class: `nc-comment nc-depth-${Math.min(depth, 5)}${removed ? " nc-removed" : ""}`,
        id: this.commentDomId(comment.id),
        "data-comment-id": comment.id,
      });
      item.append(removed ? this.renderRemovedBody(comment) : this.renderBody(comment, { reply: true }));
      const replies = Array.isArray(comment.replies) ? comment.replies : [];
      if (replies.length) {
        const children = el("ol", { class: "nc-children" });
        for (const reply of replies) children.append(this.renderComment(reply, publishedIds, depth + 1));
        item.append(children);
      }
      return item;
    }

    renderRemovedBody(comment) {
      return el(
        "article",
        { class: "nc-comment-body", id: this.id(`comment-body-${comment.id}`) },
        el("p", { class: "nc-removed-text", text: TEXT.removed }),
      );
    }

    renderBody(comment, { reply, pending = false, message = "" }) {
      const name = typeof comment.name === "string" && comment.name ? comment.name : TEXT.anonymous;
      const authorId = this.id(`comment-author-${comment.id}`);
      const href = safeHttpUrl(comment.website);
      const author = el("b", { class: "nc-author fn", id: authorId });
      if (href) {
        author.append(el("a", { class: "nc-author-link url", href, rel: "nofollow ugc noopener", text: name }));
      } else {
        author.textContent = name;
      }

      const time = el("time", { class: "nc-date", datetime: comment.created_at || "" });
      time.textContent = formatDate(comment.created_at);
      const dateNode = pending
        ? time
        : el("a", { class: "nc-permalink", href: `#${this.commentDomId(comment.id)}` }, time);

      const meta = el(
        "footer",
        { class: "nc-comment-meta" },
        el(
          "div",
          { class: "nc-comment-author vcard" },
          identicon(comment.avatar),
          el(
            "span",
            { class: "nc-author-line" },
            author,
            " ",
            comment.staff ? el("span", { class: "nc-staff", text: TEXT.staff }) : null,
            comment.staff ? " " : null,
            el("span", { class: "nc-says", text: TEXT.says }),
          ),
        ),
        el("div", { class: "nc-comment-metadata" }, dateNode),
      );
      if (pending) {
        meta.append(el("p", { class: "nc-awaiting-moderation", text: message || TEXT.awaiting }));
      }

      const content = el("div", { class: "nc-comment-content" });
      // body_html is escaped by the server (paragraphs and rel'd links only): the one innerHTML.
      content.innerHTML = typeof comment.body_html === "string" ? comment.body_html : "";

      const body = el(
        "article",
        { class: "nc-comment-body", id: this.id(`comment-body-${comment.id}`) },
        meta,
        content,
      );
      if (reply) {
        const button = el("button", {
          type: "button",
          class: "nc-reply-link",
          "data-comment-id": comment.id,
          "aria-describedby": authorId,
          text: TEXT.reply,
        });
        button.addEventListener("click", () => this.startReply(comment, button));
        const reportButton = el("button", {
          type: "button",
          class: "nc-report-link",
          "data-comment-id": comment.id,
          "aria-describedby": authorId,
          "aria-expanded": "false",
          "aria-controls": this.id(`report-${comment.id}`),
          text: TEXT.report,
        });
        reportButton.addEventListener("click", () => this.startReport(comment, reportButton));
        body.append(el("div", { class: "nc-reply" }, button, " ", reportButton));
      }
      return body;
    }

    renderPending(entry) {
      const item = el("li", {
        class: "nc-comment nc-pending",
        id: this.commentDomId(entry.comment.id),
        "data-comment-id": entry.comment.id,
        "data-status": "pending",
        tabindex: "-1",
      });
      item.append(this.renderBody(entry.comment, { reply: false, pending: true, message: entry.message }));
      return item;
    }

    revealHashTarget() {
      const hash = window.location.hash.slice(1);
      if (!hash || !hash.startsWith(`${this.prefix}-comment-`)) return;
      const target = document.getElementById(hash);
      if (target && this.container.contains(target)) target.scrollIntoView();
    }

    /* ----- replying ----- */

    startReply(comment, button) {
      const item = button.closest("li.nc-comment");
      const body = item && item.querySelector(":scope > .nc-comment-body");
      if (!body) return;
      this.parentInput.value = comment.id;
      this.replyButton = button;
      const name = typeof comment.name === "string" && comment.name ? comment.name : TEXT.anonymous;
      this.replyingTo.textContent = `${TEXT.replyingTo} ${name}`;
      this.replyContext.hidden = false;
      this.respond.classList.add("nc-respond-reply");
      body.after(this.respond);
      this.inputs.body.focus();
    }

    cancelReply({ restoreFocus }) {
      const button = this.replyButton;
      this.parentInput.value = "";
      this.replyButton = null;
      this.replyingTo.textContent = "";
      this.replyContext.hidden = true;
      this.respond.classList.remove("nc-respond-reply");
      this.section.append(this.respond);
      if (restoreFocus) {
        if (button && button.isConnected) button.focus();
        else this.inputs.body.focus();
      }
    }

    /* ----- reporting: a confirm step, then the thanks ----- */

    startReport(comment, button) {
      const existing = document.getElementById(this.id(`report-${comment.id}`));
      if (existing) {
        const first = existing.querySelector("input, button");
        if (first) first.focus();
        return;
      }
      const formId = this.id(`report-${comment.id}`);
      const noteId = this.id(`report-note-${comment.id}`);
      const reasons = REPORT_REASONS.map(([value, label], index) =>
        el(
          "label",
          { class: "nc-report-reason" },
          el("input", { type: "radio", name: "reason", value, checked: index === 0 }),
          ` ${label}`,
        ),
      );
      const note = el("textarea", { id: noteId, name: "note", rows: "2", maxlength: "500" });
      const status = el("p", { class: "nc-report-status", role: "alert" });
      const confirm = el("button", { type: "submit", class: "nc-report-confirm", text: TEXT.reportConfirm });
      const cancel = el("button", { type: "button", class: "nc-report-cancel", text: TEXT.reportCancel });
      const form = el(
        "form",
        { class: "nc-report", id: formId, novalidate: true },
        el(
          "fieldset",
          {},
          el("legend", { text: TEXT.reportQuestion }),
          el("div", { class: "nc-report-reasons" }, ...reasons),
          el("label", { class: "nc-report-note-label", for: noteId, text: TEXT.reportNote }),
          note,
          status,
          el("div", { class: "nc-report-actions" }, confirm, " ", cancel),
        ),
      );
      const close = () => {
        form.remove();
        button.setAttribute("aria-expanded", "false");
        button.focus();
      };
      cancel.addEventListener("click", close);
      form.addEventListener("keydown", (event) => {
        if (event.key === "Escape") close();
      });
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const chosen = form.querySelector('input[name="reason"]:checked');
        this.sendReport(comment, { reason: chosen ? chosen.value : "other", note: note.value }, form, button);
      });
      button.closest(".nc-reply").after(form);
      button.setAttribute("aria-expanded", "true");
      form.querySelector("input").focus();
    }

    async sendReport(comment, values, form, button) {
      const status = form.querySelector(".nc-report-status");
      const confirm = form.querySelector(".nc-report-confirm");
      if (confirm.disabled) return;
      const payload = { reason: values.reason };
      if (values.note.trim()) payload.note = values.note;
      confirm.disabled = true;
      status.textContent = "";
      let answer;
      try {
        answer = await postJson(`${this.apiUrl}/${encodeURIComponent(comment.id)}/reports`, payload);
      } catch (_error) {
        confirm.disabled = false;
        status.textContent = TEXT.reportFailed;
        return;
      }
      confirm.disabled = false;
      const { response, data } = answer;
      if (response.ok) {
        const thanks = el("p", { class: "nc-report-thanks", tabindex: "-1", text: TEXT.reportThanks });
        form.replaceWith(thanks);
        button.setAttribute("aria-expanded", "false");
        button.hidden = true;
        thanks.focus();
        this.announce(TEXT.reportThanks);
        return;
      }
      let message = TEXT.reportFailed;
      if (response.status === 404) message = TEXT.reportGone;
      else if (response.status === 429) {
        message = TEXT.reportTooMany;
        const seconds = retryAfterSeconds(response.headers.get("Retry-After"));
        if (seconds) message += ` Please wait ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
      } else if (response.status === 422 && data && data.errors) {
        const errors = data.errors.json || {};
        const first = Object.values(errors)[0];
        if (Array.isArray(first) && first.length) message = String(first[0]);
      }
      status.textContent = message;
    }

    /* ----- submitting ----- */

    clearErrors() {
      this.status.textContent = "";
      for (const name of Object.keys(this.inputs)) this.clearFieldError(name);
    }

    clearFieldError(name) {
      const input = this.inputs[name];
      if (input.getAttribute("aria-invalid") !== "true") return;
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      const error = document.getElementById(this.id(`${name}-error`));
      if (error && this.form.contains(error)) error.remove();
      for (const item of this.summaryList.querySelectorAll(`[data-field="${name}"]`)) item.remove();
      if (this.summaryList.childElementCount === 0) this.summary.hidden = true;
    }

    showSummary(entries) {
      const items = entries.map(({ name, text }) => {
        const link = el("a", { href: `#${this.inputs[name].id}`, text: `${FIELD_LABELS[name]}: ${text}` });
        link.addEventListener("click", (event) => {
          event.preventDefault();
          this.inputs[name].focus();
        });
        return el("li", { "data-field": name }, link);
      });
      this.summaryList.replaceChildren(...items);
      this.summary.hidden = items.length === 0;
    }

    showFieldError(name, message) {
      const input = this.inputs[name];
      const error = el("span", {
        class: "comment-field-error nc-field-error",
        id: this.id(`${name}-error`),
        text: message,
      });
      input.after(error);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    }

    async submit() {
      if (this.sending) return;
      const values = {
        name: this.inputs.name.value,
        email: this.inputs.email.value,
        website: this.inputs.website.value.trim(),
        body: this.inputs.body.value,
      };
      if (this.remember.checked) {
        saveAuthor({ name: values.name, email: values.email, website: values.website });
      } else {
        forgetAuthor();
      }
      const payload = { name: values.name, email: values.email, body: values.body };
      if (values.website) payload.website = values.website;
      const parentId = this.parentInput.value;
      if (parentId) payload.parent_id = parentId;
      if (this.trap.value) payload.subject = this.trap.value;

      this.clearErrors();
      this.sending = true;
      this.submitButton.disabled = true;
      this.form.setAttribute("aria-busy", "true");
      let answer;
      try {
        answer = await postJson(this.apiUrl, payload);
      } catch (_error) {
        this.finishSending();
        this.showStatus(TEXT.network);
        return;
      }
      this.finishSending();
      const { response, data } = answer;

      if (response.status === 202 || (response.ok && data && data.comment)) {
        this.accepted(data, parentId);
      } else if (response.status === 422 && data && data.errors) {
        this.invalid(data);
      } else {
        this.failed(response, data);
      }
    }

    finishSending() {
      this.sending = false;
      this.submitButton.disabled = false;
      this.form.removeAttribute("aria-busy");
    }

    showStatus(message) {
      this.status.textContent = message;
    }

    accepted(data, parentId) {
      const comment = data && data.comment;
      const message = data && typeof data.message === "string" && data.message ? data.message : TEXT.awaiting;
      this.inputs.body.value = "";
      if (this.list.contains(this.respond)) this.cancelReply({ restoreFocus: false });
      if (data && data.published) {
        // Published at once (a trusted commenter): show it as everyone will see it.
        this.announce(message);
        this.load(this.page);
        return;
      }
      if (!comment || !comment.id) {
        this.announce(message);
        return;
      }
      const entry = { comment, parentId: parentId || comment.parent_id || "", page: this.page, message };
      this.pending.push(entry);
      const item = this.renderPending(entry);
      const parent = entry.parentId ? this.findCommentItem(entry.parentId) : null;
      if (parent) this.appendChildItem(parent, item);
      else this.list.append(item);
      this.list.hidden = false;
      this.title.textContent = this.heading();
      item.focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
      this.announce(message);
    }

    invalid(data) {
      const errors = data.errors.json || data.errors.form || data.errors || {};
      const firstMessage = (messages) => {
        const list = Array.isArray(messages) ? messages : [messages];
        return list.length && list[0] !== null && list[0] !== undefined ? String(list[0]) : "";
      };
      const others = [];
      const summary = [];
      let first = null;
      for (const name of FIELDS) {
        const text = firstMessage(errors[name]);
        if (!text) continue;
        this.showFieldError(name, text);
        summary.push({ name, text });
        if (!first) first = name;
      }
      this.showSummary(summary);
      for (const [key, messages] of Object.entries(errors)) {
        if (FIELDS.includes(key)) continue;
        const text = firstMessage(messages);
        if (text) others.push(text);
      }
      if (others.length) this.showStatus(others.join(" "));
      else if (!first) this.showStatus(typeof data.message === "string" ? data.message : GENERIC_ERROR);
      // The summary (role="alert") is announced; the reader lands on the first field to fix.
      if (first) this.inputs[first].focus();
    }

    failed(response, data) {
      const code = response.status;
      let message =
        data && typeof data.message === "string" && data.message
          ? data.message
          : STATUS_MESSAGES[code] || GENERIC_ERROR;
      if (code === 422 && !(data && data.message)) message = GENERIC_ERROR;
      if (code === 429) {
        const seconds = retryAfterSeconds(response.headers.get("Retry-After"));
        if (seconds) message += ` Please wait ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
      }
      this.showStatus(message);
    }
  }

  function init() {
    for (const container of document.querySelectorAll(SELECTOR)) {
      if (container.hasAttribute("data-nc-ready")) continue;
      try {
        new CommentsWidget(container); // eslint-disable-line no-new
      } catch (error) {
        if (window.console) window.console.error("news-comments:", error);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
