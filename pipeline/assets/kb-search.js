// guideline-kb: the site's search lists requirements, ranked by the same query model as the command
// line (query.js = pipeline/query.py), over search/kb-<edition>.json. Loaded before mkdocs-material's
// bundle (overrides/main.html) so that it sits between the bundle and its search worker:
// - a query the page sends the worker is kept, and sent on as character bigrams for lunr, which
//   still finds the other pages (home, table, report, corrections);
// - the worker's result is replaced: one result per requirement (ID, 記載箇所, the text with the
//   hits marked), then those other pages; the count counts requirements;
// - a result links to the requirement with ?q=…; the page it lands on marks the hits in the texts
//   and the requirement itself (.req-landed, and :target in CSS).
// Source text is data: every piece of it is escaped before it reaches innerHTML.
(function () {
  "use strict";
  var QUERY = 2, RESULT = 3;  // mkdocs-material's SearchMessageType (pinned < 10)
  var Q = window.guidelineKbQuery;
  var script = document.currentScript;
  var base = script ? script.src.replace(/javascripts\/kb-search\.js(\?.*)?$/, "") : "";
  var VOLUME_NAMES = { gov: "経営管理編", mgmt: "企画管理編", ctrl: "システム運用編" };
  var MAX_RESULTS = 50;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // --- the knowledge base: search/kb.json (editions, synonyms, words), search/kb-<edition>.json
  var kb = null;
  function pageEdition(editions) {
    var path = location.href.indexOf(base) === 0 ? location.href.slice(base.length) : "";
    var first = path.split(/[/?#]/)[0];
    return editions.indexOf(first) >= 0 ? first : editions[0];
  }
  function loadKb() {
    if (kb) return kb;
    kb = fetch(base + "search/kb.json").then(function (r) { return r.json(); }).then(function (meta) {
      var edition = pageEdition(meta.editions);
      return fetch(base + "search/kb-" + edition + ".json").then(function (r) { return r.json(); }).then(function (docs) {
        return { edition: edition, docs: docs, editions: meta.editions,
                 vocabulary: { synonyms: meta.synonyms, words: new Set(meta.words), spellings: meta.spellings } };
      });
    });
    return kb;
  }

  // --- lunr, for the pages that are not requirements: the query as required character bigrams
  var CJK = /[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ー]+/g;
  var LATIN = /[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?/g;
  var LONG_VOWEL_END = /([ァ-ヴ])ー(?![ァ-ヴー])/g;  // ユーザー = ユーザ, as in the index
  function code(gram) {  // as encode_gram in pipeline/sitesearch.py, without the closing 0
    var out = "j";
    for (var i = 0; i < gram.length; i++) out += ("000" + gram.charCodeAt(i).toString(16)).slice(-4);
    return out;
  }
  function lunrQuery(query) {
    var words = Q.splitQuery(query).filter(function (t) { return t[0] === "word" || t[0] === "phrase"; })
      .map(function (t) { return t[1]; }).join(" ");
    var text = words.normalize("NFKC").replace(LONG_VOWEL_END, "$1");
    var terms = [];
    (text.match(CJK) || []).forEach(function (run) {
      if (run.length === 1) { terms.push("+" + code(run) + "*"); return; }
      for (var i = 0; i + 2 <= run.length; i++) terms.push("+" + code(run.slice(i, i + 2)) + "0");
    });
    (text.replace(CJK, " ").match(LATIN) || []).forEach(function (word) { terms.push("+" + word.toLowerCase() + "*"); });
    return terms.join(" ");
  }
  window.guidelineKbSearchTransform = lunrQuery;

  // --- one result per requirement
  function where(doc) {
    var volume = VOLUME_NAMES[doc.volume] || "編不明";
    var section = doc.section ? " " + doc.section + (doc.section_title ? " " + doc.section_title : "") : "";
    return volume + section;
  }
  function excerpt(text, spans, width) {
    var start = 0, end = text.length;
    if (text.length > width) {
      start = spans.length ? Math.max(0, spans[0][0] - 30) : 0;
      end = Math.min(text.length, start + width);
    }
    var out = start > 0 ? "…" : "", at = start;
    spans.forEach(function (s) {
      var a = Math.max(s[0], at), b = Math.min(s[1], end);
      if (a >= b) return;
      out += escapeHtml(text.slice(at, a)) + "<mark>" + escapeHtml(text.slice(a, b)) + "</mark>";
      at = b;
    });
    out += escapeHtml(text.slice(at, end)) + (end < text.length ? "…" : "");
    return out;
  }
  function linkTo(doc, query) {
    var parts = doc.url.split("#");
    return parts[0] + "?q=" + encodeURIComponent(query) + (parts[1] ? "#" + parts[1] : "");
  }
  function requirementItem(r, found, query, edition, editions) {
    var doc = r.doc, spans = Q.spans(doc.shown, found.query);
    var title = '<span class="kb-hit-id">' + escapeHtml(doc.id) + "</span>" +
      (doc.kind === "unplaced" ? ' <span class="unplaced-mark">未配置</span>' : "") +
      ' <span class="kb-hit-where">' + escapeHtml(where(doc)) + (editions.length > 1 ? "（第" + escapeHtml(edition) + "版）" : "") + "</span>" +
      '<span class="kb-hit-text">' + excerpt(doc.shown, spans, 140) + "</span>";
    if (r.missing.length) {
      title += '<span class="kb-hit-partial">一致した語: ' + escapeHtml(r.matched.join("、") || "なし") +
        "（一致しない語: " + escapeHtml(r.missing.join("、")) + "）</span>";
    }
    if (doc.notes_shown && doc.notes_shown.length) {
      title += '<span class="kb-hit-notes">備考: ' + excerpt(doc.notes_shown.join(" / "), Q.spans(doc.notes_shown.join(" / "), found.query), 80) + "</span>";
    }
    return [{ location: linkTo(doc, query), title: title, text: "", score: r.score, terms: {} }];
  }
  var META_PAGE = /(^|\/)(index|table|report|corrections)\.html($|[?#])|^$/;
  function isMetaPage(group) {
    var location = (group[0] && group[0].location) || "";
    return META_PAGE.test(location.split("#")[0]);
  }

  var summary = null;  // what the result count line says
  function results(query, lunrItems, k) {
    var found = Q.search(query, k.docs, k.vocabulary);
    var ranked = found.ranked.slice(0, MAX_RESULTS);
    var items = ranked.map(function (r) { return requirementItem(r, found, query, k.edition, k.editions); });
    var pages = (lunrItems || []).filter(isMetaPage);
    var complete = found.ranked.filter(function (r) { return !r.missing.length; }).length;
    var total = found.ranked.length;
    if (!total) summary = pages.length ? "当てはまる遵守事項はありません（ページ " + pages.length + " 件）" : null;
    else {
      summary = "遵守事項 " + total + " 件";
      if (found.matchedBy === "bigrams") summary += "（語が見つからないため、似た表記のもの）";
      else if (!complete) summary += "（すべての語を含むものはありません。一部の語に一致したもの）";
      else if (complete < total) summary += "（すべての語に一致 " + complete + " 件、一部の語に一致 " + (total - complete) + " 件）";
      if (pages.length) summary += "・ほかのページ " + pages.length + " 件";
    }
    return items.concat(pages);
  }
  function fixCount() {
    var meta = document.querySelector(".md-search-result__meta");
    if (!meta || meta.dataset.kbObserved) return;
    meta.dataset.kbObserved = "1";
    new MutationObserver(function () {
      if (summary && meta.textContent !== summary) meta.textContent = summary;
    }).observe(meta, { childList: true, characterData: true, subtree: true });
  }

  // --- between the page and the search worker
  var latest = "";  // the query last sent: the page shows only the newest answer
  var post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message) {
    if (message && message.type === QUERY && typeof message.data === "string") {
      latest = message.data;
      loadKb();
      arguments[0] = Object.assign({}, message, { data: lunrQuery(message.data) });
    }
    return post.apply(this, arguments);
  };
  var listen = Worker.prototype.addEventListener;
  Worker.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message" || typeof listener !== "function") return listen.apply(this, arguments);
    var chain = Promise.resolve();
    var wrapped = function (event) {
      var data = event && event.data;
      if (!data || data.type !== RESULT) { listener.call(this, event); return; }
      var query = latest;
      var self = this;
      chain = chain.then(function () { return query.trim() ? loadKb() : null; }).then(function (k) {
        fixCount();
        var items = k && query.trim() ? results(query, data.data.items, k) : data.data.items;
        if (!query.trim()) summary = null;
        listener.call(self, { data: Object.assign({}, data, { data: Object.assign({}, data.data, { items: items, total: items.length }) }) });
      }).catch(function (error) {
        console.error("guideline-kb search:", error);
        listener.call(self, event);
      });
    };
    return listen.call(this, type, wrapped, options);
  };

  // --- the page a result links to: mark the hits and the requirement
  function markText(root, query) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), nodes = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
    nodes.forEach(function (node) {
      var text = node.data, found = Q.spans(text, query);
      if (!found.length) return;
      var fragment = document.createDocumentFragment(), at = 0;
      found.forEach(function (s) {
        fragment.appendChild(document.createTextNode(text.slice(at, s[0])));
        var mark = document.createElement("mark");
        mark.className = "kb-hit";
        mark.textContent = text.slice(s[0], s[1]);
        fragment.appendChild(mark);
        at = s[1];
      });
      fragment.appendChild(document.createTextNode(text.slice(at)));
      node.parentNode.replaceChild(fragment, node);
    });
  }
  function markLanded() {
    document.querySelectorAll(".req-landed").forEach(function (el) { el.classList.remove("req-landed"); });
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    target.classList.add("req-landed");
    if (!/^H[1-6]$/.test(target.tagName)) return;
    var level = Number(target.tagName[1]);
    for (var el = target.nextElementSibling; el; el = el.nextElementSibling) {
      if (/^H[1-6]$/.test(el.tagName) && Number(el.tagName[1]) <= level) break;
      el.classList.add("req-landed");
    }
  }
  function onLoad() {
    markLanded();
    window.addEventListener("hashchange", markLanded);
    var query = new URLSearchParams(location.search).get("q");
    if (!query || !query.trim()) return;
    loadKb().then(function (k) {
      var parsed = Q.parse(query, k.vocabulary);
      document.querySelectorAll(".req-text, .req-variant, .kb-notes").forEach(function (el) { markText(el, parsed); });
    }).catch(function (error) { console.error("guideline-kb search:", error); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
})();
