// The moderation page: sign in with a moderator token, work through the queue, decide.
// Plain ES2020, no dependencies. Runs under a strict CSP: no inline code, no eval, no
// innerHTML for anything that came from the API (every comment field goes in as text).
(() => {
  'use strict';

  const TOKEN_KEY = 'news-comments.moderator-token';
  const API = '/api/v1/moderation/comments';
  const PAGE_SIZE = 50;
  const BULK_CONCURRENCY = 3;
  const ARTICLE_ID = /^[A-Za-z0-9\-_.~:]{1,200}$/;
  // What a token may look like before we put it in a header (fetch refuses other bytes).
  const TOKEN_SHAPE = /^[\x21-\x7e]{1,1000}$/;
  // `reported` is not a state: the comments readers reported, in any state, most reported first.
  const STATUSES = ['pending', 'approved', 'rejected', 'spam', 'reported'];
  const HEADINGS = {
    pending: 'Pending comments',
    approved: 'Approved comments',
    rejected: 'Rejected comments',
    spam: 'Spam',
    reported: 'Reported comments',
  };
  const REPORT_REASONS = { spam: 'spam', abusive: 'abusive', off_topic: 'off topic', other: 'other' };
  const DECISIONS = {
    approve: { status: 'approved', done: 'Approved.', many: (n) => `${n} approved.` },
    reject: { status: 'rejected', done: 'Rejected.', many: (n) => `${n} rejected.` },
    spam: { status: 'spam', done: 'Marked as spam.', many: (n) => `${n} marked as spam.` },
  };
  const MESSAGES = {
    rejectedToken: 'That token was not accepted.',
    expired: 'Your moderator token is no longer accepted. Sign in again.',
    signedIn: 'Signed in.',
    signedOut: 'Signed out.',
    offline: 'Could not reach the server. Check the connection and try again.',
    noneSelected: 'Select at least one comment first.',
    noCurrent: 'No comment is chosen: press j to move to the first one.',
    badArticle: 'An article id has 1 to 200 letters, digits and - _ . ~ : only.',
    dismissed: 'Reports dismissed.',
    reportedEverywhere: 'Reported comments are listed for every article.',
  };

  const byId = (id) => document.getElementById(id);
  const els = {
    live: byId('live'),
    signIn: byId('sign-in'),
    signInButton: byId('sign-in-button'),
    token: byId('token'),
    signOut: byId('sign-out'),
    app: byId('app'),
    filters: byId('filters'),
    status: byId('status-filter'),
    article: byId('article-filter'),
    refresh: byId('refresh'),
    selectAll: byId('select-all'),
    selectedCount: byId('selected-count'),
    reason: byId('reason'),
    bulkApprove: byId('bulk-approve'),
    bulkReject: byId('bulk-reject'),
    bulkSpam: byId('bulk-spam'),
    queue: byId('queue'),
    heading: byId('queue-heading'),
    list: byId('queue-list'),
    empty: byId('empty'),
    loadMore: byId('load-more'),
  };

  const state = {
    token: null,
    filter: { status: 'pending', article: '' },
    nextCursor: null,
    loadSeq: 0,
    loadController: null,
    selected: new Set(),
    inFlight: new Set(),
    bulkRunning: false,
    currentId: null,
  };

  // ---- Errors and the API ------------------------------------------------------------------

  class Unauthorized extends Error {}

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function leafMessages(value, out = []) {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) value.forEach((v) => leafMessages(v, out));
    else if (value && typeof value === 'object') Object.values(value).forEach((v) => leafMessages(v, out));
    return out;
  }

  function errorMessage(response, data) {
    if (data && typeof data.message === 'string' && data.message) return data.message;
    const details = data ? leafMessages(data.errors) : [];
    if (details.length) return details.join(' ');
    return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
  }

  async function api(path, { method = 'GET', body, signal, token = state.token } = {}) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      if (error && error.name === 'AbortError') throw error;
      throw new ApiError(0, MESSAGES.offline);
    }
    if (response.status === 401) throw new Unauthorized(MESSAGES.expired);
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        if (error && error.name === 'AbortError') throw error;
        data = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, errorMessage(response, data));
    return data;
  }

  function handleError(error) {
    if (error && error.name === 'AbortError') return;
    if (error instanceof Unauthorized) {
      signOut(MESSAGES.expired);
    } else if (error instanceof ApiError) {
      announce(error.message, 'error');
    } else {
      console.error(error);
      announce('Something went wrong. Reload the page and try again.', 'error');
    }
  }

  // ---- The live region ---------------------------------------------------------------------

  function announce(message, kind = 'info') {
    els.live.dataset.kind = kind;
    // A new text node, so screen readers repeat a message that happens to be the same.
    els.live.replaceChildren(document.createTextNode(message));
  }

  // ---- The token (sessionStorage only) ----------------------------------------------------

  function readToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  function storeToken(token) {
    try {
      window.sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // Storage refused (private mode, quota): the token lives in memory for this page only.
    }
  }

  function forgetToken() {
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Nothing stored.
    }
  }

  // ---- Signing in and out ------------------------------------------------------------------

  function showSignedIn() {
    els.signIn.hidden = true;
    els.app.hidden = false;
    els.signOut.hidden = false;
  }

  function showSignedOut() {
    els.app.hidden = true;
    els.signOut.hidden = true;
    els.signIn.hidden = false;
  }

  async function onSignIn(event) {
    event.preventDefault();
    const token = els.token.value.trim();
    if (!token) {
      els.token.setAttribute('aria-invalid', 'true');
      announce('Enter your moderator token.', 'error');
      els.token.focus();
      return;
    }
    if (!TOKEN_SHAPE.test(token)) {
      rejectToken();
      return;
    }
    els.signInButton.disabled = true;
    announce('Checking the token…');
    try {
      await api(`${API}?status=pending&limit=1`, { token });
      state.token = token;
      storeToken(token);
      els.token.value = '';
      els.token.removeAttribute('aria-invalid');
      showSignedIn();
      announce(MESSAGES.signedIn);
      els.heading.focus();
      loadQueue();
    } catch (error) {
      if (error instanceof Unauthorized) rejectToken();
      else handleError(error);
    } finally {
      els.signInButton.disabled = false;
    }
  }

  function rejectToken() {
    els.token.setAttribute('aria-invalid', 'true');
    announce(MESSAGES.rejectedToken, 'error');
    els.token.focus();
    els.token.select();
  }

  function signOut(message = MESSAGES.signedOut) {
    state.token = null;
    forgetToken();
    state.loadSeq += 1;
    if (state.loadController) state.loadController.abort();
    state.loadController = null;
    state.nextCursor = null;
    state.selected.clear();
    state.inFlight.clear();
    state.currentId = null;
    // Readers' private data does not stay on a signed-out page.
    els.list.replaceChildren();
    els.empty.hidden = true;
    els.loadMore.hidden = true;
    els.reason.value = '';
    els.queue.setAttribute('aria-busy', 'false');
    updateSelectionUi();
    showSignedOut();
    announce(message, message === MESSAGES.signedOut ? 'info' : 'error');
    els.token.focus();
  }

  // ---- Rendering ---------------------------------------------------------------------------

  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function formatTime(value) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : timeFormat.format(date);
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function timeElement(value, className) {
    const node = make('time', className, formatTime(value));
    node.dateTime = String(value);
    node.title = String(value);
    return node;
  }

  function httpUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  }

  function addDetail(list, term, value, className) {
    if (value === undefined || value === null || value === '') return;
    const row = make('div', `detail ${className}`);
    row.append(make('dt', null, term));
    const dd = make('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = String(value);
    row.append(dd);
    list.append(row);
  }

  function renderItem(comment) {
    const id = String(comment.id);
    const base = `c-${id}`;
    const nameId = `${base}-name`;

    const item = make('li', 'queue-item');
    item.dataset.commentId = id;
    item.dataset.status = String(comment.status || '');
    item.tabIndex = -1;
    item.setAttribute('aria-labelledby', nameId);
    if (state.selected.has(id)) item.classList.add('selected');

    const head = make('div', 'item-head');
    const pick = make('div', 'item-select');
    const checkbox = make('input', 'select');
    checkbox.type = 'checkbox';
    checkbox.id = `${base}-select`;
    checkbox.checked = state.selected.has(id);
    checkbox.setAttribute('aria-describedby', nameId);
    const checkboxLabel = make('label', null, 'Select');
    checkboxLabel.htmlFor = checkbox.id;
    pick.append(checkbox, checkboxLabel);

    const who = make('div', 'item-who');
    const name = make('h3', 'item-name', comment.name || '(no name)');
    name.id = nameId;
    who.append(name, timeElement(comment.created_at, 'item-time'));
    head.append(pick, who);

    const details = make('dl', 'item-details');
    addDetail(details, 'Article', comment.article_id, 'article');
    addDetail(details, 'Email', comment.email, 'email');
    if (comment.private_unreadable) {
      addDetail(details, 'Private data', 'sealed with another secret key: email, IP and user agent cannot be shown', 'private-unreadable');
    }
    if (comment.website) {
      const href = httpUrl(comment.website);
      let site = String(comment.website);
      if (href) {
        site = make('a', null, comment.website);
        site.href = href;
        site.rel = 'nofollow noopener noreferrer ugc';
        site.target = '_blank';
      }
      addDetail(details, 'Website', site, 'website');
    }
    addDetail(details, 'IP', comment.ip, 'ip');
    addDetail(details, 'Reply to', comment.parent_id, 'parent');
    addDetail(details, 'User agent', comment.user_agent, 'user-agent');
    if (Array.isArray(comment.reasons) && comment.reasons.length) {
      addDetail(details, 'Flagged', comment.reasons.join('; '), 'rule-reasons');
    }
    const reports = comment.reports && typeof comment.reports === 'object' ? comment.reports : null;
    if (reports) {
      const reasons = Object.entries(reports.reasons || {})
        .map(([reason, count]) => `${REPORT_REASONS[reason] || reason} ${count}`)
        .join(', ');
      const noun = reports.count === 1 ? 'reader' : 'readers';
      addDetail(details, 'Reported', `by ${reports.count} ${noun}: ${reasons}`, 'reports');
      const notes = (Array.isArray(reports.entries) ? reports.entries : [])
        .filter((entry) => entry && entry.note)
        .map((entry) => `${REPORT_REASONS[entry.reason] || entry.reason}: ${entry.note}`);
      if (notes.length) {
        const list = make('ul', 'report-notes');
        for (const note of notes) list.append(make('li', null, note));
        addDetail(details, 'Readers wrote', list, 'report-notes');
      }
    }
    if (comment.status && comment.status !== 'pending') {
      addDetail(details, 'Status', comment.status, 'status');
      addDetail(details, 'Decided by', comment.decided_by, 'decided-by');
      if (comment.decided_at) addDetail(details, 'Decided', timeElement(comment.decided_at), 'decided-at');
      addDetail(details, 'Reason', comment.reason, 'decision-reason');
    }

    const body = make('p', 'item-body', comment.body || '');

    const actions = make('div', 'item-actions');
    const reasonField = make('div', 'field item-reason');
    const reason = make('input', 'reason');
    reason.type = 'text';
    reason.id = `${base}-reason`;
    reason.maxLength = 500;
    reason.autocomplete = 'off';
    reason.setAttribute('aria-describedby', `${nameId} reason-hint`);
    const reasonLabel = make('label', null, 'Reason');
    reasonLabel.htmlFor = reason.id;
    reasonField.append(reasonLabel, reason);

    const buttons = make('div', 'item-buttons');
    for (const [decision, label] of [['approve', 'Approve'], ['reject', 'Reject'], ['spam', 'Spam']]) {
      const button = make('button', decision, label);
      button.type = 'button';
      button.dataset.decision = decision;
      button.setAttribute('aria-describedby', nameId);
      buttons.append(button);
    }
    if (reports) {
      const dismiss = make('button', 'dismiss', 'Dismiss reports');
      dismiss.type = 'button';
      dismiss.dataset.dismiss = 'reports';
      dismiss.setAttribute('aria-describedby', nameId);
      buttons.append(dismiss);
    }
    actions.append(reasonField, buttons);

    item.append(head, details, body, actions);
    return item;
  }

  function items() {
    return Array.from(els.list.children).filter((node) => node.classList.contains('queue-item'));
  }

  function findItem(id) {
    return items().find((item) => item.dataset.commentId === id) || null;
  }

  function updateEmpty() {
    const none = items().length === 0;
    els.empty.textContent = {
      pending: 'No comments waiting.',
      reported: 'No reported comments.',
    }[state.filter.status] || 'No comments.';
    els.empty.hidden = !(none && !state.nextCursor);
  }

  function render(data, append) {
    const comments = Array.isArray(data && data.comments) ? data.comments : [];
    if (!append) els.list.replaceChildren();
    const known = new Set(items().map((item) => item.dataset.commentId));
    const fresh = [];
    for (const comment of comments) {
      if (!comment || known.has(String(comment.id))) continue;
      known.add(String(comment.id));
      fresh.push(renderItem(comment));
    }
    els.list.append(...fresh);
    state.nextCursor = data && typeof data.next_cursor === 'string' && data.next_cursor ? data.next_cursor : null;
    els.loadMore.hidden = !state.nextCursor;

    // Forget selections and the current comment that are no longer on the page.
    for (const id of Array.from(state.selected)) if (!known.has(id)) state.selected.delete(id);
    const current = state.currentId ? findItem(state.currentId) : null;
    if (current) markCurrent(current);
    else state.currentId = null;

    updateEmpty();
    updateSelectionUi();
    return fresh;
  }

  function countMessage() {
    const n = items().length;
    if (!n) return els.empty.textContent;
    const noun = n === 1 ? 'comment' : 'comments';
    return state.nextCursor ? `${n} ${noun} shown; more to load.` : `${n} ${noun} shown.`;
  }

  // ---- Loading -----------------------------------------------------------------------------

  async function loadQueue({ append = false, announceCount = false } = {}) {
    if (!state.token) return;
    state.loadSeq += 1;
    const seq = state.loadSeq;
    if (state.loadController) state.loadController.abort();
    const controller = new AbortController();
    state.loadController = controller;

    const reported = state.filter.status === 'reported';
    const params = reported
      ? new URLSearchParams({ reported: 'true', limit: String(PAGE_SIZE) })
      : new URLSearchParams({ status: state.filter.status, limit: String(PAGE_SIZE) });
    if (state.filter.article && !reported) params.set('article_id', state.filter.article);
    if (append && state.nextCursor) params.set('cursor', state.nextCursor);

    els.queue.setAttribute('aria-busy', 'true');
    els.loadMore.disabled = true;
    try {
      const data = await api(`${API}?${params}`, { signal: controller.signal });
      if (seq !== state.loadSeq) return;
      const fresh = render(data, append);
      if (append && fresh.length && els.loadMore.hidden) setCurrent(fresh[0], { focus: true });
      if (announceCount) announce(countMessage());
    } catch (error) {
      if (seq !== state.loadSeq) return;
      handleError(error);
    } finally {
      if (seq === state.loadSeq) {
        state.loadController = null;
        els.queue.setAttribute('aria-busy', 'false');
        els.loadMore.disabled = false;
      }
    }
  }

  function applyFilters({ force = false } = {}) {
    const status = STATUSES.includes(els.status.value) ? els.status.value : 'pending';
    const article = els.article.value.trim();
    if (article !== els.article.value) els.article.value = article;
    if (article && !ARTICLE_ID.test(article)) {
      els.article.setAttribute('aria-invalid', 'true');
      announce(MESSAGES.badArticle, 'error');
      return;
    }
    els.article.removeAttribute('aria-invalid');
    if (!force && status === state.filter.status && article === state.filter.article) return;
    state.filter = { status, article };
    state.selected.clear();
    state.currentId = null;
    state.nextCursor = null;
    els.heading.textContent = HEADINGS[status];
    if (status === 'reported' && article) announce(MESSAGES.reportedEverywhere);
    loadQueue({ announceCount: !(status === 'reported' && article) });
  }

  // ---- The current comment -----------------------------------------------------------------

  function markCurrent(item) {
    for (const other of els.list.querySelectorAll('.queue-item.current')) {
      if (other !== item) {
        other.classList.remove('current');
        other.removeAttribute('aria-current');
      }
    }
    if (item) {
      item.classList.add('current');
      item.setAttribute('aria-current', 'true');
    }
  }

  function setCurrent(item, { focus = false } = {}) {
    state.currentId = item ? item.dataset.commentId : null;
    markCurrent(item);
    if (item && focus) {
      item.focus();
      item.scrollIntoView({ block: 'nearest' });
    }
  }

  function currentItem() {
    return state.currentId ? findItem(state.currentId) : null;
  }

  function move(delta) {
    const all = items();
    if (!all.length) return false;
    let index = all.findIndex((item) => item.dataset.commentId === state.currentId);
    if (index === -1) index = delta > 0 ? 0 : all.length - 1;
    else index = Math.max(0, Math.min(all.length - 1, index + delta));
    setCurrent(all[index], { focus: true });
    return true;
  }

  // ---- Selection ---------------------------------------------------------------------------

  function setSelected(item, selected) {
    const id = item.dataset.commentId;
    if (selected) state.selected.add(id);
    else state.selected.delete(id);
    item.classList.toggle('selected', selected);
    const checkbox = item.querySelector('input.select');
    if (checkbox && checkbox.checked !== selected) checkbox.checked = selected;
    updateSelectionUi();
  }

  function updateSelectionUi() {
    const all = items();
    const n = all.filter((item) => state.selected.has(item.dataset.commentId)).length;
    els.selectAll.checked = n > 0 && n === all.length;
    els.selectAll.indeterminate = n > 0 && n < all.length;
    els.selectedCount.textContent = `${n} selected`;
  }

  // ---- Decisions ---------------------------------------------------------------------------

  function decisionUrl(id, decision) {
    return `${API}/${encodeURIComponent(id)}/${decision}`;
  }

  function setItemBusy(item, busy) {
    item.setAttribute('aria-busy', busy ? 'true' : 'false');
    for (const button of item.querySelectorAll('.item-buttons button')) {
      if (busy) button.setAttribute('aria-disabled', 'true');
      else button.removeAttribute('aria-disabled');
    }
  }

  async function decideOne(item, decision) {
    const id = item.dataset.commentId;
    if (!DECISIONS[decision] || state.bulkRunning || state.inFlight.has(id)) return;
    const reasonInput = item.querySelector('input.reason');
    const reason = decision === 'approve' || !reasonInput ? '' : reasonInput.value.trim();
    state.inFlight.add(id);
    setItemBusy(item, true);
    try {
      const updated = await api(decisionUrl(id, decision), {
        method: 'POST',
        body: reason ? { reason } : {},
      });
      if (!state.token) return;
      applyUpdate(item, updated);
      announce(DECISIONS[decision].done);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && item.isConnected) {
        removeItem(item);
      }
      handleError(error);
    } finally {
      state.inFlight.delete(id);
      if (item.isConnected) setItemBusy(item, false);
    }
  }

  function stillListed(updated) {
    if (!updated) return false;
    if (state.filter.status === 'reported') return Boolean(updated.reports);
    return updated.status === state.filter.status;
  }

  async function dismissReports(item) {
    const id = item.dataset.commentId;
    if (state.bulkRunning || state.inFlight.has(id)) return;
    state.inFlight.add(id);
    setItemBusy(item, true);
    try {
      const updated = await api(`${API}/${encodeURIComponent(id)}/dismiss-reports`, { method: 'POST' });
      if (!state.token) return;
      applyUpdate(item, updated);
      announce(MESSAGES.dismissed);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && item.isConnected) removeItem(item);
      handleError(error);
    } finally {
      state.inFlight.delete(id);
      if (item.isConnected) setItemBusy(item, false);
    }
  }

  function applyUpdate(item, updated) {
    if (!item.isConnected) return;
    if (!stillListed(updated)) {
      removeItem(item);
      return;
    }
    const hadFocus = item.contains(document.activeElement);
    const wasCurrent = item.dataset.commentId === state.currentId;
    const replacement = renderItem(updated);
    item.replaceWith(replacement);
    if (wasCurrent) setCurrent(replacement, { focus: hadFocus });
  }

  function removeItem(item) {
    const all = items();
    const index = all.indexOf(item);
    const active = document.activeElement;
    const hadFocus = item.contains(active) || active === document.body || active === null;
    const wasCurrent = item.dataset.commentId === state.currentId;
    state.selected.delete(item.dataset.commentId);
    item.remove();
    const rest = items();
    if (wasCurrent || hadFocus) {
      const next = rest.length ? rest[Math.min(Math.max(index, 0), rest.length - 1)] : null;
      if (next) setCurrent(next, { focus: hadFocus });
      else setCurrent(null);
    }
    updateSelectionUi();
    if (!rest.length) {
      if (hadFocus) els.heading.focus();
      // More may wait past the cursor: start again from the top of the queue.
      if (state.nextCursor) loadQueue();
      else updateEmpty();
    }
  }

  async function bulk(decision) {
    if (state.bulkRunning || !DECISIONS[decision]) return;
    const ids = items()
      .map((item) => item.dataset.commentId)
      .filter((id) => state.selected.has(id) && !state.inFlight.has(id));
    if (!ids.length) {
      announce(MESSAGES.noneSelected, 'error');
      return;
    }
    const reason = decision === 'approve' ? '' : els.reason.value.trim();
    state.bulkRunning = true;
    setBulkBusy(true);
    announce(`Working on ${ids.length} ${ids.length === 1 ? 'comment' : 'comments'}…`);

    let done = 0;
    let unauthorized = false;
    const failures = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length && !unauthorized && state.token) {
        const id = ids[next];
        next += 1;
        try {
          await api(decisionUrl(id, decision), { method: 'POST', body: reason ? { reason } : {} });
          done += 1;
          state.selected.delete(id);
        } catch (error) {
          if (error instanceof Unauthorized) unauthorized = true;
          else failures.push(error instanceof ApiError ? error.message : 'Unexpected error.');
        }
      }
    };
    try {
      const workers = [];
      for (let i = 0; i < Math.min(BULK_CONCURRENCY, ids.length); i += 1) workers.push(worker());
      await Promise.all(workers);
    } finally {
      state.bulkRunning = false;
      setBulkBusy(false);
    }
    if (unauthorized) {
      signOut(MESSAGES.expired);
      return;
    }
    if (!state.token) return;
    await loadQueue();
    let message = DECISIONS[decision].many(done);
    if (failures.length) {
      const reasons = Array.from(new Set(failures)).join(' ');
      message += ` ${failures.length} failed: ${reasons}`;
    }
    announce(message, failures.length ? 'error' : 'info');
  }

  function setBulkBusy(busy) {
    els.queue.setAttribute('aria-busy', busy ? 'true' : 'false');
    for (const button of [els.bulkApprove, els.bulkReject, els.bulkSpam]) {
      if (busy) button.setAttribute('aria-disabled', 'true');
      else button.removeAttribute('aria-disabled');
    }
  }

  // ---- Keyboard ----------------------------------------------------------------------------

  const NON_TEXT_INPUTS = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'image', 'file', 'color']);

  function isTyping(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
    if (target instanceof HTMLInputElement) return !NON_TEXT_INPUTS.has(target.type);
    return false;
  }

  function onShortcut(event) {
    if (!state.token || els.app.hidden) return;
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    let handled = false;
    switch (event.key) {
      case 'j':
      case 'ArrowDown':
        handled = move(1);
        break;
      case 'k':
      case 'ArrowUp':
        handled = move(-1);
        break;
      case 'a':
      case 'r':
      case 's':
      case 'x': {
        handled = true;
        const item = currentItem();
        if (!item) {
          announce(items().length ? MESSAGES.noCurrent : els.empty.textContent || 'No comments.');
          break;
        }
        if (event.key === 'a') decideOne(item, 'approve');
        else if (event.key === 's') decideOne(item, 'spam');
        else if (event.key === 'x') setSelected(item, !state.selected.has(item.dataset.commentId));
        else {
          const reason = item.querySelector('input.reason');
          if (reason) {
            reason.focus();
            reason.select();
          }
        }
        break;
      }
      default:
        break;
    }
    if (handled) event.preventDefault();
  }

  // ---- Wiring ------------------------------------------------------------------------------

  function onListClick(event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const item = target.closest('.queue-item');
    if (!item || !els.list.contains(item)) return;
    const button = target.closest('button[data-decision]');
    if (button) {
      setCurrent(item);
      decideOne(item, button.dataset.decision);
      return;
    }
    if (target.closest('button[data-dismiss]')) {
      setCurrent(item);
      dismissReports(item);
      return;
    }
    if (state.currentId !== item.dataset.commentId) setCurrent(item);
  }

  function onListChange(event) {
    const target = event.target;
    if (!(target instanceof HTMLInputElement) || !target.classList.contains('select')) return;
    const item = target.closest('.queue-item');
    if (item) setSelected(item, target.checked);
  }

  function onListKeydown(event) {
    const target = event.target;
    if (!(target instanceof HTMLInputElement) || !target.classList.contains('reason')) return;
    const item = target.closest('.queue-item');
    if (!item) return;
    if (event.key === 'Enter' && !event.isComposing) {
      event.preventDefault();
      decideOne(item, 'reject');
    } else if (event.key === 'Escape') {
      event.preventDefault();
      setCurrent(item, { focus: true });
    }
  }

  function onListFocusIn(event) {
    const target = event.target instanceof Element ? event.target : null;
    const item = target && target.closest('.queue-item');
    if (item && state.currentId !== item.dataset.commentId) setCurrent(item);
  }

  function onSelectAll() {
    const selected = els.selectAll.checked;
    for (const item of items()) setSelected(item, selected);
  }

  function start() {
    els.signIn.addEventListener('submit', onSignIn);
    els.token.addEventListener('input', () => els.token.removeAttribute('aria-invalid'));
    els.signOut.addEventListener('click', () => signOut());
    els.filters.addEventListener('submit', (event) => {
      event.preventDefault();
      applyFilters({ force: true });
    });
    els.status.addEventListener('change', () => applyFilters());
    els.article.addEventListener('change', () => applyFilters());
    els.refresh.addEventListener('click', () => loadQueue({ announceCount: true }));
    els.loadMore.addEventListener('click', () => loadQueue({ append: true }));
    els.selectAll.addEventListener('change', onSelectAll);
    els.bulkApprove.addEventListener('click', () => bulk('approve'));
    els.bulkReject.addEventListener('click', () => bulk('reject'));
    els.bulkSpam.addEventListener('click', () => bulk('spam'));
    els.list.addEventListener('click', onListClick);
    els.list.addEventListener('change', onListChange);
    els.list.addEventListener('keydown', onListKeydown);
    els.list.addEventListener('focusin', onListFocusIn);
    document.addEventListener('keydown', onShortcut);

    els.status.value = state.filter.status;
    els.article.value = state.filter.article;
    els.heading.textContent = HEADINGS[state.filter.status];
    const token = readToken();
    if (token && TOKEN_SHAPE.test(token)) {
      state.token = token;
      showSignedIn();
      loadQueue();
    } else {
      if (token) forgetToken();
      showSignedOut();
    }
  }

  start();
})();
