// The search page of `vatt serve`: no framework, no build step, nothing fetched from elsewhere.
// /?q=TEXT runs that search when the page opens; /?token=T passes the API token on every call.
'use strict';

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';

function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers['Authorization'] = 'Bearer ' + token;
  return fetch(path, Object.assign({}, options, { headers })).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  });
}

function withToken(url) {
  if (!token || !url) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
}

function seconds(s) {
  const m = Math.floor(s / 60);
  return m + ':' + (s - 60 * m).toFixed(1).padStart(4, '0');
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function play(r) {
  if (!r.source.startsWith('file://')) return;  // a live stream's past is not at hand: show the thumbnail only
  const dialog = document.getElementById('player');
  const video = document.getElementById('video');
  video.src = r.source.replace('file://', '/files') + '#t=' + r.start + ',' + r.end;
  document.getElementById('player-text').textContent = r.text;
  if (dialog.showModal) dialog.showModal();
}

function show(results, took) {
  const box = document.getElementById('results');
  box.replaceChildren();
  for (const r of results) {
    const card = el('article', { class: 'result', 'data-id': r.id });
    const img = el('img', { alt: r.text || 'clip ' + r.clip, loading: 'lazy' });
    if (r.thumbnail) img.src = withToken(r.thumbnail);
    card.append(img);
    const meta = el('div', { class: 'meta' });
    meta.append(el('span', { class: 'score' }, r.score.toFixed(3)));
    const name = r.source.split('/').pop();
    const when = r.wall_start ? new Date(r.wall_start * 1000).toLocaleTimeString() : seconds(r.start) + '-' + seconds(r.end);
    meta.append(el('div', { class: 'source', title: r.source }, name + ' · ' + when));
    meta.append(el('div', { class: 'text' }, r.text));
    card.append(meta);
    card.addEventListener('click', () => play(r));
    box.append(card);
  }
  document.getElementById('status').textContent =
    results.length + ' result(s) in ' + took.toFixed(0) + ' ms';
}

function search(q, k) {
  document.getElementById('status').textContent = 'searching...';
  return api('/api/search?q=' + encodeURIComponent(q) + '&k=' + k)
    .then((r) => show(r.results, r.took_ms))
    .catch((e) => { document.getElementById('status').textContent = e.message; });
}

function refreshSources() {
  return api('/api/sources').then((list) => {
    const body = document.querySelector('#sources tbody');
    body.replaceChildren();
    for (const s of list) {
      const row = el('tr', { title: s.uri + (s.last_error ? '\n' + s.last_error : '') });
      row.append(el('td', {}, s.name), el('td', { class: 'state-' + s.state }, s.state), el('td', {}, String(s.clips)),
                 el('td', {}, String(s.dropped)), el('td', {}, String(s.reconnects)),
                 el('td', {}, s.kind === 'stream' ? s.lag_seconds.toFixed(1) + ' s' : ''));
      const remove = el('button', { type: 'button' }, 'remove');
      remove.addEventListener('click', () => api('/api/sources/' + encodeURIComponent(s.name), { method: 'DELETE' })
        .then(refreshSources).catch((e) => { document.getElementById('source-error').textContent = e.message; }));
      const cell = el('td');
      cell.append(remove);
      row.append(cell);
      body.append(row);
    }
  }).catch((e) => { document.getElementById('source-error').textContent = e.message; });
}

document.getElementById('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = document.getElementById('q').value.trim();
  const k = document.getElementById('k').value || 12;
  if (!q) return;
  const url = new URL(location.href);
  url.searchParams.set('q', q);
  history.replaceState(null, '', url);
  search(q, k);
});

document.getElementById('add-source').addEventListener('submit', (ev) => {
  ev.preventDefault();
  document.getElementById('source-error').textContent = '';
  const name = document.getElementById('source-name').value.trim();
  const uri = document.getElementById('source-uri').value.trim();
  api('/api/sources', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, uri }) })
    .then(() => { ev.target.reset(); refreshSources(); })
    .catch((e) => { document.getElementById('source-error').textContent = e.message; });
});

refreshSources();
setInterval(refreshSources, 3000);
if (params.get('q')) {
  document.getElementById('q').value = params.get('q');
  search(params.get('q'), document.getElementById('k').value);
}
