// guideline-kb: the query model in the browser. The same steps, names and constants as
// pipeline/query.py (read that file's docstrings); tests/test_query_parity.py runs both on every
// query of the relevance sets and every text of the knowledge base and requires the same results.
(function (global) {
  "use strict";
  var SMALL_FROM = "ァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ";
  var SMALL_TO = "アイウエオツヤユヨワカケあいうえおつやゆよわかけ";
  var LONG_VOWEL = "\u30fc";
  var FIELDS = [["text", 3.0], ["variants", 2.0], ["title", 1.0], ["notes", 1.0]];
  var ID_WEIGHT = 10.0, SYNONYM_WEIGHT = 0.6, PARTS_WEIGHT = 0.5, EMBEDDED_WEIGHT = 0.4;
  var REPEAT_BONUS = 0.1, MAX_REPEAT = 5, TOGETHER_BONUS = 1.5, SIMILAR_SHARE = 0.6, SIMILAR_WEIGHT = 0.3;
  var OR_WORDS = ["OR", "|"];
  var ID = /^(gov|mgmt|ctrl)-(\d+(?:\.\d+)*)-(\d+)$|^(unplaced)-(?:(\d+)-)?(p?)(\d+)-(\d+)$/;
  var RUNS = /[\u3041-\u309f]+|[\u30a1-\u30ff]+|[\u3400-\u9fff\uf900-\ufaff々〆]+|[a-z0-9]+|./gu;
  var LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u;
  var SPACE = "\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

  function isKatakana(ch) { return (ch >= "\u30a1" && ch <= "\u30fa") || ch === LONG_VOWEL; }

  function foldChar(ch, katakana) {
    var out = "";
    for (var c of ch.normalize("NFKC").toLowerCase()) {
      if (katakana && ((c >= "\u3041" && c <= "\u3096") || c === "\u309d" || c === "\u309e")) {
        c = String.fromCharCode(c.charCodeAt(0) + 0x60);
      }
      var small = SMALL_FROM.indexOf(c);
      if (small >= 0) c = SMALL_TO[small];
      if (c === "\u30f4") c = "\u30d6";
      if (c === "\u3099" || c === "\u309a" || LETTER_OR_NUMBER.test(c)) out += c;
    }
    return out;
  }

  // [folded, where]: where[i] = the index (UTF-16) in text of the character folded[i] came from.
  function foldMap(text, katakana) {
    var out = [], where = [], pending = -1, index = 0;
    for (var ch of text) {
      var folded = foldChar(ch, katakana);
      if (!folded) pending = -1;
      for (var c of folded) {
        if (c === "\u3099" || c === "\u309a") {
          var joined = out.length ? foldChar((out[out.length - 1] + c).normalize("NFC"), katakana) : "";
          if (joined.length === 1) out[out.length - 1] = joined;
          continue;
        }
        if (c === LONG_VOWEL && out.length && isKatakana(out[out.length - 1])) {
          if (pending < 0) pending = index;
          continue;
        }
        if (pending >= 0 && isKatakana(c)) { out.push(LONG_VOWEL); where.push(pending); }
        pending = -1;
        out.push(c);
        where.push(index);
      }
      index += ch.length;
    }
    return [out.join(""), where];
  }

  function fold(text, katakana) { return foldMap(text, katakana)[0]; }

  function normalizeId(word) {
    var text = word.normalize("NFKC").replace(/\s+/g, "").toLowerCase().replace(/\u2212/g, "-").replace(/\u30fc/g, "-");
    var m = ID.exec(text);
    if (!m) return null;
    if (m[1]) {
      var section = m[2].split(".").map(function (n) { return String(parseInt(n, 10)); }).join(".");
      return m[1] + "-" + section + "-" + parseInt(m[3], 10);
    }
    var source = m[5] ? parseInt(m[5], 10) + "-" : "";
    return "unplaced-" + source + m[6] + parseInt(m[7], 10) + "-" + parseInt(m[8], 10);
  }

  function splitQuery(text) {
    text = text.normalize("NFKC");
    var tokens = [], re = new RegExp('"([^"]*)"?|([^' + SPACE + ']+)', "g"), m;
    while ((m = re.exec(text)) !== null) {
      if (m[2] === undefined) {
        if (m[1].trim()) tokens.push(["phrase", m[1].trim()]);
        if (m[0] === "") re.lastIndex++;
        continue;
      }
      var word = m[2];
      if (OR_WORDS.indexOf(word) >= 0) tokens.push(["or", word]);
      else if (word.charAt(0) === "-" && word.length > 1 && !normalizeId(word)) tokens.push(["not", word.slice(1)]);
      else tokens.push(["word", word]);
    }
    return tokens;
  }

  function cut(word, words, loose) {
    var best = new Array(word.length + 1).fill(null);
    best[0] = [0, 0, []];
    for (var start = 0; start < word.length; start++) {
      if (best[start] === null) continue;
      var unknown = best[start][0], count = best[start][1], parts = best[start][2];
      for (var end = word.length; end > start; end--) {
        var piece = word.slice(start, end);
        var known = piece.length >= 2 && words.has(piece);
        if (!known && !loose) continue;
        var cost0 = unknown + (known ? 0 : piece.length), cost1 = count + 1;
        var b = best[end];
        if (b === null || cost0 < b[0] || (cost0 === b[0] && cost1 < b[1])) best[end] = [cost0, cost1, parts.concat([piece])];
      }
    }
    var found = best[word.length];
    return found ? found[2] : [];
  }

  function segment(word, words) {
    if (words.has(word) || word.length < 4) return [];
    var parts = cut(word, words, false);
    return parts.length > 1 ? parts : [];
  }

  function alt(parts, weight, label, id, need) {
    return { parts: parts, weight: weight, label: label, id: id || "", need: need || 0 };
  }

  function sameParts(a, b) {
    return a.length === b.length && a.every(function (p, i) { return p === b[i]; });
  }

  function alternatives(word, vocabulary, phrase) {
    var folded = fold(word, false), found = [];
    if (folded) {
      found.push(alt([folded], 1.0, word));
      var asKatakana = fold(word, true);
      if (asKatakana !== folded) found.push(alt([asKatakana], 1.0, asKatakana));
      ((vocabulary.spellings || {})[folded] || []).forEach(function (spelling) {
        if (spelling !== folded && spelling !== asKatakana) found.push(alt([spelling], 1.0, spelling));
      });
    }
    if (phrase) return found;
    var reqId = normalizeId(word);
    if (reqId) found.push(alt([], 1.0, reqId, reqId));
    var groups = vocabulary.synonyms, synonyms = [];
    (groups[folded] || []).forEach(function (w) { synonyms.push([fold(w, false), w]); });
    if (folded.length >= 2 && !synonyms.length) {
      Object.keys(groups).sort(comparePoints).forEach(function (key) {
        if (folded.indexOf(key) >= 0 && key !== folded) {
          if (key.length >= 2) groups[key].forEach(function (w) {
            var replaced = folded.split(key).join(fold(w, false));
            synonyms.push([replaced, replaced]);
          });
        } else if (key.indexOf(folded) >= 0) {
          groups[key].forEach(function (w) { synonyms.push([fold(w, false), w]); });
        }
      });
    }
    var seen = found.map(function (a) { return a.parts; });
    synonyms.forEach(function (pair) {
      var other = pair[0];
      if (other && !seen.some(function (p) { return sameParts(p, [other]); })) {
        seen.push([other]);
        found.push(alt([other], SYNONYM_WEIGHT, pair[1]));
      }
    });
    if (folded) {
      var parts = segment(folded, vocabulary.words);
      if (parts.length) found.push(alt(parts, PARTS_WEIGHT, parts.join("+")));
    }
    return found;
  }

  // Python sorts strings by code point; JavaScript's default sort by UTF-16 unit.
  function comparePoints(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
    }
    return x.length - y.length;
  }

  function pieces(word, vocabulary) {
    var folded = fold(word, false), found = [];
    (folded.match(RUNS) || []).forEach(function (run) {
      if (run[0] >= "\u3041" && run[0] <= "\u309f") return;
      var parts = Array.from(run).length >= 4 ? cut(run, vocabulary.words, true) : [];
      (parts.length ? parts : [run]).forEach(function (p) { if (found.indexOf(p) < 0) found.push(p); });
    });
    return found.length > 1 ? found : [];
  }

  function clause(word, alts, pieceClauses) { return { word: word, alternatives: alts, pieces: pieceClauses || [] }; }

  function parse(text, vocabulary) {
    vocabulary = vocabulary || { synonyms: {}, words: new Set() };
    var wanted = [], excluded = [], plain = [], joinNext = false;
    splitQuery(text).forEach(function (token) {
      var kind = token[0], word = token[1];
      if (kind === "or") { joinNext = wanted.length > 0; return; }
      var alts = alternatives(word, vocabulary, kind === "phrase");
      if (!alts.length) { joinNext = false; return; }
      if (kind === "not") excluded.push(clause(word, alts));
      else if (joinNext) {
        var last = wanted.pop();
        wanted.push(clause(last.word + " OR " + word, last.alternatives.concat(alts)));
        plain = [];
      } else {
        var parts = kind === "phrase" ? [] : pieces(word, vocabulary);
        var pieceClauses = parts.map(function (p) { return clause(p, alternatives(p, vocabulary, false)); });
        wanted.push(clause(kind === "phrase" ? '"' + word + '"' : word, alts, pieceClauses));
        plain.push(alts[0].parts.length ? alts[0].parts[0] : "");
      }
      joinNext = false;
    });
    var together = plain.length > 1 && plain.length === wanted.length && plain.every(Boolean) ? plain.join("") : "";
    return { wanted: wanted, excluded: excluded, together: together };
  }

  function similar(query) {
    var wanted = [];
    query.wanted.forEach(function (c) {
      var folded = c.alternatives[0].parts.length ? c.alternatives[0].parts[0] : "";
      if (folded.length >= 3) {
        var pairs = [];
        for (var i = 0; i + 1 < folded.length; i++) {
          var pair = folded.slice(i, i + 2);
          if (pairs.indexOf(pair) < 0) pairs.push(pair);
        }
        wanted.push(clause(c.word, [alt(pairs, SIMILAR_WEIGHT, c.word, "", Math.ceil(pairs.length * SIMILAR_SHARE))]));
      }
    });
    return { wanted: wanted, excluded: query.excluded, together: "" };
  }

  function occursWhole(part, value, words) {
    if (!Array.from(part).every(isKatakana)) return value.indexOf(part) >= 0;
    var start = value.indexOf(part);
    while (start >= 0) {
      var end = start + part.length, first = start, last = end;
      while (first > 0 && isKatakana(value[first - 1])) first--;
      while (last < value.length && isKatakana(value[last])) last++;
      if ((first === start || cut(value.slice(first, start), words, false).length) &&
          (last === end || cut(value.slice(end, last), words, false).length)) return true;
      start = value.indexOf(part, start + 1);
    }
    return false;
  }

  function count(value, part) { return value.split(part).length - 1; }

  function clauseScore(c, doc, words) {
    var best = 0.0;
    c.alternatives.forEach(function (a) {
      if (a.id) { if (doc.id === a.id) best = Math.max(best, a.weight * ID_WEIGHT); return; }
      FIELDS.forEach(function (f) {
        var value = doc[f[0]] || "", weight = f[1];
        if (a.need) {
          var share = a.parts.filter(function (p) { return value.indexOf(p) >= 0; }).length;
          if (share >= a.need) best = Math.max(best, a.weight * weight * share / a.parts.length);
        } else if (a.parts.every(function (p) { return value.indexOf(p) >= 0; })) {
          var repeat = Math.min(count(value, a.parts[0]) - 1, MAX_REPEAT);
          var whole = a.parts.every(function (p) { return occursWhole(p, value, words); }) ? 1.0 : EMBEDDED_WEIGHT;
          best = Math.max(best, a.weight * weight * whole * (1 + REPEAT_BONUS * repeat));
        }
      });
    });
    return best;
  }

  function round6(value) { return Math.floor(value * 1000000 + 0.5) / 1000000; }
  function rarity(total, matching) { return Math.log(1 + total / (1 + matching)); }

  function rank(query, docs, words) {
    var total = docs.length, clauses = query.wanted;
    var scores = docs.map(function (doc) { return clauses.map(function (c) { return clauseScore(c, doc, words); }); });
    var rar = clauses.map(function (c, i) { return rarity(total, scores.filter(function (row) { return row[i] > 0; }).length); });
    var pieceScores = docs.map(function (doc, d) {
      return clauses.map(function (c, i) {
        return c.pieces.map(function (p) { return scores[d][i] ? 0.0 : clauseScore(p, doc, words); });
      });
    });
    var pieceRar = clauses.map(function (c, i) {
      return c.pieces.map(function (p, j) { return rarity(total, pieceScores.filter(function (rows) { return rows[i][j] > 0; }).length); });
    });
    var sumRarity = rar.reduce(function (a, b) { return a + b; }, 0);
    var ranked = [];
    docs.forEach(function (doc, d) {
      var row = scores[d], rows = pieceScores[d];
      if (!row.some(Boolean) && !rows.some(function (r) { return r.some(Boolean); })) return;
      if (query.excluded.some(function (c) { return clauseScore(c, doc, words); })) return;
      var score = 0.0, cover = 0.0, matched = [], missing = [];
      clauses.forEach(function (c, i) {
        if (row[i]) { score += row[i] * rar[i]; cover += rar[i]; matched.push(c.word); return; }
        missing.push(c.word);
        var found = [];
        rows[i].forEach(function (s, j) { if (s) found.push(j); });
        if (found.length) {
          cover += rar[i] * found.length / c.pieces.length;
          score += found.reduce(function (acc, j) { return acc + rows[i][j] * pieceRar[i][j]; }, 0) / c.pieces.length;
          found.forEach(function (j) { matched.push(c.pieces[j].word); });
        }
      });
      if (!missing.length && query.together && (doc.text || "").indexOf(query.together) >= 0) score *= TOGETHER_BONUS;
      ranked.push({ doc: doc, score: round6(score), matched: matched, missing: missing, cover: round6(cover / sumRarity) });
    });
    ranked.sort(function (a, b) {
      return ((a.missing.length > 0) - (b.missing.length > 0)) || (b.cover - a.cover) || (b.score - a.score) || (a.doc.order - b.doc.order);
    });
    return ranked;
  }

  // [start, end) spans (UTF-16) in text of the wanted words, their synonyms, parts and pieces.
  function spans(text, query) {
    var fm = foldMap(text, false), folded = fm[0], where = fm[1], found = [];
    query.wanted.forEach(function (c) {
      [c].concat(c.pieces).forEach(function (cc) {
        cc.alternatives.forEach(function (a) {
          a.parts.forEach(function (part) {
            if (!part) return;
            var start = folded.indexOf(part);
            while (start >= 0) {
              var lastChar = where[start + part.length - 1];
              found.push([where[start], lastChar + String.fromCodePoint(text.codePointAt(lastChar)).length]);
              start = folded.indexOf(part, start + part.length);
            }
          });
        });
      });
    });
    found.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var merged = [];
    found.forEach(function (s) {
      if (merged.length && s[0] <= merged[merged.length - 1][1]) merged[merged.length - 1][1] = Math.max(s[1], merged[merged.length - 1][1]);
      else merged.push([s[0], s[1]]);
    });
    return merged;
  }

  // Search one edition's documents: the words' matches, or else a similar spelling.
  function search(text, docs, vocabulary) {
    var query = parse(text, vocabulary), ranked = query.wanted.length ? rank(query, docs, vocabulary.words) : [];
    var matchedBy = "words";
    if (!ranked.length && query.wanted.length) {
      query = similar(query);
      ranked = query.wanted.length ? rank(query, docs, vocabulary.words) : [];
      matchedBy = "bigrams";
    }
    return { query: query, ranked: ranked, matchedBy: matchedBy };
  }

  global.guidelineKbQuery = {
    fold: fold, foldMap: foldMap, normalizeId: normalizeId, splitQuery: splitQuery, cut: cut, segment: segment,
    alternatives: alternatives, pieces: pieces, parse: parse, similar: similar, occursWhole: occursWhole,
    clauseScore: clauseScore, rank: rank, spans: spans, search: search
  };
})(typeof window !== "undefined" ? window : globalThis);
