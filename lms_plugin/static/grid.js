// The evaluator grid, following the WAI-ARIA grid pattern: one Tab stop, focus moved by the arrow
// keys over row headers, progress cells, statement headers and cells (roving tabindex); judging
// through the JSON API, bulk row/column actions (confirmed first, undoable for a while), a dialog
// for comment, evidence and history, a confirmation step for rule changes and revocations, and
// following the class list's sync from the LMS while it runs.
// A cell's current comment and evidence ride on its button (data-comment, data-evidence,
// data-show-in-credential); its name is "learner, statement, verdict" (aria-labelledby,
// grid_rows.py), then "(evidence waiting)" while it has data-evidence-waiting (the learner's
// evidence, until a judgement of the cell is recorded); the verdict is its text.
// Dates read as on the server's pages (lms_plugin/assessment/wording.py): the page's locale, in UTC.
(function () {
  "use strict";
  var meta = function (name) { return document.querySelector('meta[name="' + name + '"]').content; };
  var launchId = meta("launch-id");
  var csrf = meta("csrf-token");
  // With no learner to show there is no grid: an empty, detached one keeps the rest working.
  var table = document.querySelector("table.grid") || document.createElement("table");
  var status = document.getElementById("grid-status");
  var dialog = document.getElementById("cell-dialog");
  var confirmDialog = document.getElementById("confirm-dialog");
  var feedback = document.getElementById("grid-feedback");
  var undoButton = document.getElementById("grid-undo");
  var LABELS = { met: "✓ Met", not_yet: "✗ Not yet" };
  // A cell's word by verdict, as grid_rows.py writes it (the mark comes from the style sheet).
  var WORDS = { met: "Met", not_yet: "Not yet", "": "Not judged" };
  var UNDO_SECONDS = 30;
  var AFTER_RELOAD = "grid-after-reload:" + launchId;
  var current = null;
  var undoOffer = null;
  var WHEN = dateFormat(meta("date-locale"));

  function dateFormat(locale) {
    var options = {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: "UTC", timeZoneName: "short"
    };
    try { return new Intl.DateTimeFormat(locale, options); } catch (ignored) { return new Intl.DateTimeFormat("en-GB", options); }
  }

  function api(method, path, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-LTI-Launch-Id": launchId, "X-CSRFToken": csrf, "Accept": "application/json" }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || ("The server answered " + response.status)); }
        return data;
      });
    });
  }

  // The status shows at the foot of the window, and goes after a while (Undo's own time).
  var sayTimer = null;
  function say(text) {
    status.textContent = text;
    feedback.classList.toggle("shown", text !== "" || !undoButton.hidden);
    clearTimeout(sayTimer);
    if (text !== "") { sayTimer = setTimeout(function () { say(""); }, UNDO_SECONDS * 1000); }
  }
  function plural(count, one, many) { return count + " " + (count === 1 ? one : many); }
  function cells() { return Array.prototype.slice.call(table.querySelectorAll("tbody button.cell")); }
  function learnerName(id) { return document.querySelector("#l-" + id + " .name").textContent; }
  function learnerOf(cell) { return cell.closest("tr").dataset.learner; }
  var levelOfStatement = {};
  table.querySelectorAll("th.statement-head").forEach(function (th) {
    levelOfStatement[th.id.slice(2)] = th.dataset.level;
  });

  function focusCell(cell) {
    if (!cell) { return; }
    if (current) { current.tabIndex = -1; }
    current = cell;
    cell.tabIndex = 0;
    cell.focus();
  }

  function cellAt(learnerId, statementId) {
    return table.querySelector('tr[data-learner="' + learnerId + '"] button.cell[data-statement="' + statementId + '"]');
  }

  // What an undo restores: the cell's verdict, comment, evidence and credential tick as they are now.
  function stateOf(cell) {
    return {
      cell: cell, verdict: cell.dataset.verdict || "clear",
      comment: cell.dataset.comment || "", evidence_url: cell.dataset.evidence || "",
      shown: "showInCredential" in cell.dataset
    };
  }

  function setNote(cell, name, value) {
    if (value) { cell.dataset[name] = value; } else { delete cell.dataset[name]; }
  }

  function paint(cell, verdict, comment, evidence, shown) {
    setNote(cell, "comment", verdict === "clear" ? "" : comment);
    setNote(cell, "evidence", verdict === "clear" ? "" : evidence);
    setNote(cell, "showInCredential", verdict !== "clear" && shown ? "yes" : "");
    cell.dataset.verdict = verdict === "clear" ? "" : verdict;
    cell.textContent = WORDS[cell.dataset.verdict];
    // Its name: learner, statement, then the page's hidden word for the verdict.
    cell.setAttribute("aria-labelledby", cell.getAttribute("aria-labelledby").replace(/v-\S+/, "v-" + (cell.dataset.verdict || "none")));
    var row = cell.closest("tr");
    row.querySelector("[data-met]").textContent = row.querySelectorAll('button.cell[data-verdict="met"]').length;
  }

  // The learner's evidence waits until a judgement of the cell is recorded: the mark, and
  // "(evidence waiting)" at the end of the cell's name (the page's hidden "ew").
  function setWaiting(cell, waiting) {
    var label = cell.getAttribute("aria-labelledby").replace(/ ew$/, "");
    cell.setAttribute("aria-labelledby", waiting ? label + " ew" : label);
    setNote(cell, "evidenceWaiting", waiting ? "yes" : "");
  }
  function isWaiting(cell) { return "evidenceWaiting" in cell.dataset; }

  function showLevels(result) {
    var messages = [];
    result.achieved.forEach(function (change) {
      var badges = table.querySelector('tr[data-learner="' + change.learner_id + '"] [data-achieved]');
      if (!badges.querySelector('[data-level="' + change.level + '"]')) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.dataset.level = change.level;
        badge.textContent = "✓ " + levelLabel(change.level);
        badges.appendChild(badge);
      }
      messages.push(learnerName(change.learner_id) + " achieved " + levelLabel(change.level) + ".");
    });
    result.withdrawn.forEach(function (change) {
      var badge = table.querySelector('tr[data-learner="' + change.learner_id + '"] [data-achieved] [data-level="' + change.level + '"]');
      if (badge) { badge.remove(); }
      messages.push(learnerName(change.learner_id) + " no longer has " + levelLabel(change.level) + ".");
    });
    return messages;
  }

  function levelLabel(key) {
    var head = table.querySelector('th.level-head[data-level="' + key + '"]');
    return head ? head.textContent.trim() : key;
  }

  // Sends items ({learner_id, statement_id, verdict[, comment, evidence_url, show_in_credential]}:
  // comment and evidence left out keep the cell's own for the same verdict) and paints what was
  // recorded; a judgement recorded for a cell ends its evidence's wait.
  // Resolves with the answer and the level messages; the caller says what happened.
  function send(items) {
    say("Saving…");
    return api("POST", "/api/v1/judgements", { judgements: items }).then(function (result) {
      result.judgements.forEach(function (j) {
        var cell = cellAt(j.learner_id, j.statement_id);
        if (cell) {
          paint(cell, j.verdict, j.comment, j.evidence_url, j.show_in_credential);
          setWaiting(cell, false);
        }
      });
      result.messages = showLevels(result);
      return result;
    }).catch(function (error) { say("Not saved: " + error.message); throw error; });
  }

  function itemFor(cell, verdict) {
    return { learner_id: Number(learnerOf(cell)), statement_id: Number(cell.dataset.statement), verdict: verdict };
  }

  function withLevels(text, result) {
    return text + (result.messages.length ? " " + result.messages.join(" ") : "");
  }

  var STILL_WAITING = "Nothing changed, so the learner's evidence is still waiting.";

  // One cell, from the keyboard or the dialog (extra: the dialog's comment, evidence and tick).
  function judge(cell, verdict, extra) {
    var item = itemFor(cell, verdict);
    if (extra) {
      item.comment = extra.comment;
      item.evidence_url = extra.evidence_url;
      item.show_in_credential = extra.show_in_credential;
    }
    if (undoOffer && undoOffer.before.some(function (b) { return b.cell === cell; })) { withdrawUndo(); }
    return send([item]).then(function (result) {
      var nothing = isWaiting(cell) ? STILL_WAITING : "Nothing to save: that is what is recorded.";
      say(withLevels(result.judgements.length ? "Saved." : nothing, result));
      return result;
    });
  }

  // Only http(s) evidence becomes a link (never javascript: or data:); other text stays text.
  function webAddress(text) {
    try {
      var url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (ignored) { return null; }
  }

  function evidenceLink(address) {
    var link = document.createElement("a");
    link.href = address;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    link.textContent = address;
    var hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = " (opens in a new tab)";
    link.appendChild(hint);
    return link;
  }

  function historyItem(entry) {
    var li = document.createElement("li");
    var time = document.createElement("time");
    time.dateTime = entry.judged_at;
    time.textContent = WHEN.format(new Date(entry.judged_at));
    li.append((LABELS[entry.verdict] || "Cleared") + " — " + entry.judged_by + ", ", time,
      entry.comment ? ": " + entry.comment : "");
    if (entry.evidence_url) {
      var address = webAddress(entry.evidence_url);
      li.append(" (evidence: ", address ? evidenceLink(address) : entry.evidence_url, ")");
    }
    return li;
  }

  // A learner's submission in the dialog: the link (plain text unless http(s)), when it was sent
  // and whether it still waits, and the note as plain text.
  function submissionItem(entry) {
    var li = document.createElement("li");
    var address = webAddress(entry.url);
    var sent = document.createElement("time");
    sent.dateTime = entry.submitted_at;
    sent.textContent = WHEN.format(new Date(entry.submitted_at));
    li.append(address ? evidenceLink(address) : entry.url, " — sent ", sent, ", ");
    if (entry.waiting) {
      var waiting = document.createElement("strong");
      waiting.textContent = "waiting";
      li.append(waiting);
    } else {
      var looked = document.createElement("time");
      looked.dateTime = entry.looked_at;
      looked.textContent = WHEN.format(new Date(entry.looked_at));
      li.append("looked at ", looked);
    }
    if (entry.note) {
      var note = document.createElement("p");
      note.className = "note";
      note.textContent = entry.note;
      li.append(note);
    }
    return li;
  }

  function showSubmissions(cell, submissions) {
    var section = document.getElementById("cell-submissions-section");
    var list = document.getElementById("cell-submissions");
    list.textContent = "";
    submissions.forEach(function (entry) { list.appendChild(submissionItem(entry)); });
    section.hidden = !submissions.length;
    // As recorded now (a learner may have sent more, or another evaluator judged, since).
    setWaiting(cell, submissions.some(function (entry) { return entry.waiting; }));
  }

  function statementText(statementId) {
    return document.getElementById("s-" + statementId).dataset.text;
  }

  // Another evaluator may have judged the cell since the page loaded: its newest judgement (from
  // the history) is shown in the cell, and in the dialog unless something was typed already.
  function catchUp(cell, form, latest) {
    var now = latest && latest.verdict !== "clear" ? latest : { verdict: "clear", comment: null, evidence_url: null };
    var was = stateOf(cell);
    if (now.verdict === was.verdict && (now.comment || "") === was.comment && (now.evidence_url || "") === was.evidence_url &&
        Boolean(now.show_in_credential) === was.shown) { return; }
    var untouched = form.querySelector('input[name="verdict"]:checked').value === was.verdict &&
      form.comment.value === was.comment && form.evidence_url.value === was.evidence_url &&
      form.show_in_credential.checked === was.shown;
    paint(cell, now.verdict, now.comment, now.evidence_url, now.show_in_credential);
    if (dialog.open && untouched) {
      form.querySelector('input[name="verdict"][value="' + now.verdict + '"]').checked = true;
      form.comment.value = now.comment || "";
      form.evidence_url.value = now.evidence_url || "";
      form.show_in_credential.checked = Boolean(now.show_in_credential);
    }
    say("This cell was judged again since the page was loaded" + (latest ? " (by " + latest.judged_by + ")" : "") + ": it now shows what is recorded.");
  }

  function openDialog(cell) {
    var form = document.getElementById("cell-form");
    form.reset();
    document.getElementById("cell-error").textContent = "";
    document.getElementById("cell-said").textContent = "";
    document.getElementById("cell-submissions-section").hidden = true;
    document.getElementById("cell-dialog-about").textContent = learnerName(learnerOf(cell)) + " — " + statementText(cell.dataset.statement);
    var checked = form.querySelector('input[name="verdict"][value="' + (cell.dataset.verdict || "clear") + '"]');
    checked.checked = true;
    form.comment.value = cell.dataset.comment || "";
    form.evidence_url.value = cell.dataset.evidence || "";
    // The credential tick, as recorded; a comment cleared or changed is not shown unless ticked
    // again (as the API has it), so typing unticks it until the evaluator ticks it themself.
    var recorded = { comment: form.comment.value, shown: "showInCredential" in cell.dataset };
    var show = form.show_in_credential;
    show.checked = recorded.shown;
    show.dataset.touched = "";
    show.onchange = function () { show.dataset.touched = "yes"; };
    form.comment.oninput = function () {
      if (!show.dataset.touched) { show.checked = recorded.shown && form.comment.value.trim() !== "" && form.comment.value === recorded.comment; }
    };
    var list = document.getElementById("cell-history");
    list.innerHTML = "<li>Loading…</li>";
    api("GET", "/api/v1/judgements?learner_id=" + learnerOf(cell) + "&statement_id=" + cell.dataset.statement)
      .then(function (data) {
        list.innerHTML = "";
        if (!data.judgements.length) { list.innerHTML = "<li>Never judged.</li>"; }
        data.judgements.forEach(function (entry) { list.appendChild(historyItem(entry)); });
        catchUp(cell, form, data.judgements[0]);
        showSubmissions(cell, data.submissions || []);
      }).catch(function (error) { list.innerHTML = ""; list.appendChild(document.createTextNode(error.message)); });
    dialog.returnValue = "";
    dialog.showModal();
    checked.focus(); // the current verdict: Space there changes nothing
    form.onsubmit = function (event) {
      if (event.submitter && event.submitter.value === "cancel") { return; }
      event.preventDefault();
      var verdict = form.querySelector('input[name="verdict"]:checked').value;
      var waited = isWaiting(cell);
      // Every field always sent: what the dialog shows is what is recorded ("" for none).
      judge(cell, verdict, {
        comment: form.comment.value.trim(), evidence_url: form.evidence_url.value.trim(),
        show_in_credential: form.show_in_credential.checked
      }).then(function (result) {
        // Nothing recorded for a cell whose evidence waits: the dialog stays, saying so.
        if (!result.judgements.length && waited) {
          document.getElementById("cell-said").textContent = STILL_WAITING;
          return;
        }
        dialog.close();
        focusCell(cell);
      }).catch(function (error) { document.getElementById("cell-error").textContent = error.message; });
    };
    dialog.onclose = function () { focusCell(cell); };
  }

  // --- moving in the grid -----------------------------------------------------------------------

  // The grid as rows of focus targets: the statement headers' row (after the two corner headers),
  // then a row a learner (row header, progress cell's menu button, then the cells).
  var PAGE_ROWS = 10;
  function gridRows() {
    var rows = [Array.prototype.slice.call(table.querySelectorAll("thead th.learner-head, thead th.progress-head, thead button.statement-text"))];
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      rows.push(Array.prototype.slice.call(tr.querySelectorAll("th.learner, button.row-menu, button.cell")));
    });
    return rows;
  }
  function targetOf(element) {
    return element.closest("button.cell, button.row-menu, button.statement-text, th.learner, th.learner-head, th.progress-head");
  }

  function place(target) {
    var rows = gridRows();
    for (var y = 0; y < rows.length; y += 1) {
      var x = rows[y].indexOf(target);
      if (x !== -1) { return { rows: rows, x: x, y: y }; }
    }
    return null;
  }

  function moveFrom(target, key, ctrl) {
    var at = place(target);
    if (!at) { return null; }
    var row = at.rows[at.y], last = at.rows.length - 1;
    var clampY = function (y) { return at.rows[Math.max(0, Math.min(last, y))][at.x]; };
    switch (key) {
      case "ArrowRight": return row[Math.min(row.length - 1, at.x + 1)];
      case "ArrowLeft": return row[Math.max(0, at.x - 1)];
      case "ArrowDown": return clampY(at.y + 1);
      case "ArrowUp": return clampY(at.y - 1);
      case "PageDown": return clampY(at.y + PAGE_ROWS);
      case "PageUp": return clampY(at.y - PAGE_ROWS);
      case "Home": return ctrl ? at.rows[0][0] : row[0];
      case "End": return ctrl ? at.rows[last][at.rows[last].length - 1] : row[row.length - 1];
      default: return null;
    }
  }

  table.addEventListener("keydown", function (event) {
    if (event.target.closest("[popover]") || event.altKey || event.metaKey) { return; }
    var target = targetOf(event.target);
    if (!target) { return; }
    var key = event.key;
    var next = moveFrom(target, key, event.ctrlKey);
    if (next) {
      event.preventDefault();
      focusCell(next);
      return;
    }
    var cell = target.matches("button.cell") ? target : null;
    if (!cell || event.ctrlKey) { return; }
    if (key === "m" || key === "M") { judge(cell, "met").catch(function () {}); }
    else if (key === "n" || key === "N") { judge(cell, "not_yet").catch(function () {}); }
    else if (key === "c" || key === "C" || key === "Delete" || key === "Backspace") { judge(cell, "clear").catch(function () {}); }
    else if (key === "Enter" || key === " ") { openDialog(cell); }
    else { return; }
    event.preventDefault();
  });

  table.addEventListener("click", function (event) {
    var cell = event.target.closest("button.cell");
    if (cell) { focusCell(cell); openDialog(cell); return; }
    var menuButton = event.target.closest("button.row-menu");
    if (menuButton) { focusCell(menuButton); openRowMenu(menuButton); return; }
    var column = event.target.closest("button.bulk.column");
    if (column) { bulkColumn(column); }
  });

  // The skip link lands on the grid's one Tab stop.
  var skip = document.getElementById("skip-to-grid");
  if (skip) {
    skip.addEventListener("click", function (event) {
      event.preventDefault();
      focusCell(current);
    });
  }

  // A statement header's popover: the whole statement and the column's bulk action (focused on
  // opening); closing it returns to the header.
  table.querySelectorAll(".statement-full").forEach(function (popover) {
    popover.addEventListener("toggle", function (event) {
      if (event.newState === "open") { popover.querySelector("button.bulk").focus(); }
    });
  });

  // --- the row's "All met…" menu (WAI-ARIA menu button) -----------------------------------------

  var rowMenu = document.getElementById("row-menu");
  var menuOwner = null;
  function menuItems() { return Array.prototype.slice.call(rowMenu.querySelectorAll('[role="menuitem"]')); }

  function openRowMenu(button) {
    menuOwner = button;
    rowMenu.setAttribute("aria-label", "All met for " + learnerName(learnerOf(button)));
    rowMenu.showPopover();
    var box = button.getBoundingClientRect();
    rowMenu.style.left = Math.max(0, Math.min(box.left, window.innerWidth - rowMenu.offsetWidth)) + "px";
    var below = box.bottom + rowMenu.offsetHeight <= window.innerHeight;
    rowMenu.style.top = (below ? box.bottom : Math.max(0, box.top - rowMenu.offsetHeight)) + "px";
    button.setAttribute("aria-expanded", "true");
    menuItems()[0].focus();
  }

  function closeRowMenu(refocus) {
    if (rowMenu.matches(":popover-open")) { rowMenu.hidePopover(); }
    if (refocus && menuOwner) { focusCell(menuOwner); }
  }

  if (rowMenu) {
    rowMenu.addEventListener("toggle", function (event) {
      if (event.newState === "closed" && menuOwner) {
        menuOwner.setAttribute("aria-expanded", "false");
        if (rowMenu.contains(document.activeElement) || document.activeElement === document.body) { focusCell(menuOwner); }
      }
    });
    rowMenu.addEventListener("keydown", function (event) {
      var items = menuItems();
      var at = items.indexOf(document.activeElement);
      var to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
      if (to !== undefined) {
        event.preventDefault();
        items[(to + items.length) % items.length].focus();
      } else if (event.key === "Escape" || event.key === "Tab") {
        event.preventDefault();
        closeRowMenu(true);
      }
    });
    rowMenu.addEventListener("click", function (event) {
      var item = event.target.closest('[role="menuitem"]');
      if (!item || !menuOwner) { return; }
      var owner = menuOwner;
      closeRowMenu(true);
      bulkRow(owner.closest("tr"), item.dataset.level, owner);
    });
  }

  // --- bulk actions: say what will change, change only that, offer to undo it ----------------

  function names(targets) {
    var seen = [];
    targets.forEach(function (c) {
      var name = learnerName(learnerOf(c));
      if (seen.indexOf(name) === -1) { seen.push(name); }
    });
    return seen;
  }

  // Every cell of one level in a learner's row (from the row's menu).
  function bulkRow(tr, level, returnTo) {
    var learner = learnerName(tr.dataset.learner);
    var label = levelLabel(level);
    var targets = Array.prototype.slice.call(tr.querySelectorAll("button.cell")).filter(function (c) {
      return levelOfStatement[c.dataset.statement] === level;
    });
    bulkMet(targets, {
      question: function (change) { return "Mark " + change + " of " + plural(targets.length, label + " statement", label + " statements") + " met for " + learner + "?"; },
      already: "All " + plural(targets.length, label + " statement", label + " statements") + " are already met for " + learner + ": nothing to change.",
      detail: ""
    }, returnTo);
  }

  // One statement for every learner shown (from its header's popover).
  function bulkColumn(bulk) {
    var head = document.getElementById("s-" + bulk.dataset.statement);
    var number = head.querySelector(".statement-text").textContent.split(".")[0];
    var partial = table.dataset.partial === "yes";
    var label = levelLabel(head.dataset.level);
    var targets = cells().filter(function (c) { return c.dataset.statement === bulk.dataset.statement; });
    var popover = bulk.closest("[popover]");
    popover.hidePopover();
    var returnTo = head.querySelector(".statement-text");
    bulkMet(targets, {
      question: function (change) { return "Mark " + label + " statement " + number + " met for " + change + " of " + plural(targets.length, "learner", "learners") + (partial ? " shown" : "") + "?"; },
      already: label + " statement " + number + " is already met for every learner" + (partial ? " shown" : "") + ": nothing to change.",
      detail: "“" + statementText(bulk.dataset.statement) + "”. ",
      names: true
    }, returnTo);
  }

  function bulkMet(targets, words, returnTo) {
    var change = targets.filter(function (c) { return c.dataset.verdict !== "met"; });
    if (!change.length) { say(words.already); focusCell(returnTo); return; }
    var kept = targets.length - change.length;
    var people = names(change);
    var detail = words.detail +
      (words.names && people.length <= 10 ? "For " + people.join(", ") + ". " : "") +
      (kept ? plural(kept, "cell is", "cells are") + " already met and stay as they are, with their comments and evidence. " : "") +
      "You can undo this for " + UNDO_SECONDS + " seconds afterwards.";
    confirmStep(words.question(change.length), detail, "Mark " + change.length + " met", false).then(function (yes) {
      focusCell(returnTo);
      if (!yes) { say("Nothing changed."); return; }
      var before = change.map(stateOf);
      withdrawUndo();
      send(change.map(function (c) { return itemFor(c, "met"); })).then(function (result) {
        var recorded = result.judgements.length;
        var unchanged = kept + result.unchanged.length;
        say(withLevels("Saved " + plural(recorded, "judgement", "judgements") + (unchanged ? "; " + unchanged + " " + (unchanged === 1 ? "was" : "were") + " already met." : "."), result));
        var changed = {};
        result.judgements.forEach(function (j) { changed[j.learner_id + ":" + j.statement_id] = true; });
        offerUndo(before.filter(function (b) { return changed[learnerOf(b.cell) + ":" + b.cell.dataset.statement]; }));
      }).catch(function () {});
    });
  }

  // Undo: reversal judgements restoring each changed cell's verdict, comment and evidence as they
  // were before the bulk action (a cell not judged then is cleared). Withdrawn when one of those
  // cells is judged again, so that it never overwrites a later decision, and by the next bulk
  // action (one undo at a time).
  function offerUndo(before) {
    if (!before.length) { return; }
    undoButton.textContent = "Undo (" + plural(before.length, "judgement", "judgements") + ")";
    undoButton.hidden = false;
    feedback.classList.add("shown");
    var offer = { before: before, timer: setTimeout(function () { withdrawUndo(); }, UNDO_SECONDS * 1000) };
    undoOffer = offer;
  }

  function withdrawUndo() {
    if (!undoOffer) { return; }
    clearTimeout(undoOffer.timer);
    undoOffer = null;
    if (document.activeElement === undoButton && current) { current.focus(); }
    undoButton.hidden = true;
    feedback.classList.toggle("shown", status.textContent !== "");
  }

  undoButton.addEventListener("click", function () {
    if (!undoOffer) { return; }
    var before = undoOffer.before;
    withdrawUndo();
    send(before.map(function (b) {
      var item = itemFor(b.cell, b.verdict);
      item.comment = b.comment;
      item.evidence_url = b.evidence_url;
      item.show_in_credential = b.shown;
      return item;
    })).then(function (result) {
      say(withLevels("Undone: " + plural(before.length, "cell is", "cells are") + " back to what " + (before.length === 1 ? "it was" : "they were") + " (" + plural(result.judgements.length, "judgement", "judgements") + " recorded; the history keeps both).", result));
    }).catch(function () {});
  });

  // --- the confirmation step --------------------------------------------------------------------

  // Resolves true when confirmed. safeFirst: focus starts on Cancel (for what cannot be undone).
  function confirmStep(question, detail, yes, safeFirst) {
    document.getElementById("confirm-question").textContent = question;
    document.getElementById("confirm-detail").textContent = detail;
    var yesButton = document.getElementById("confirm-yes");
    yesButton.textContent = yes;
    confirmDialog.returnValue = "";
    say("");
    confirmDialog.showModal();
    (safeFirst ? confirmDialog.querySelector('button[value="cancel"]') : yesButton).focus();
    return new Promise(function (resolve) {
      confirmDialog.addEventListener("close", function () { resolve(confirmDialog.returnValue === "confirm"); }, { once: true });
    });
  }

  // Rule changes and revocations are forms that reload the page: confirmed first, and their
  // result said on the page that follows (checked there, from what it shows).
  function remember(value) {
    try { sessionStorage.setItem(AFTER_RELOAD, JSON.stringify(value)); } catch (ignored) { /* no storage: no message */ }
  }

  function achievedNow() {
    var held = {};
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      held[tr.dataset.learner] = Array.prototype.map.call(tr.querySelectorAll("[data-achieved] .badge"), function (b) { return b.dataset.level; });
    });
    return held;
  }

  function confirmForm(form, question, detail, yes, safeFirst, after) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed) { return; }
      event.preventDefault();
      confirmStep(question(), detail(), yes, safeFirst).then(function (confirmed) {
        if (!confirmed) { say("Nothing changed."); return; }
        remember(after());
        form.dataset.confirmed = "yes";
        form.submit();
      });
    });
  }

  var ruleForm = document.getElementById("rule-form");
  var learnerCount = Number(ruleForm.dataset.learnerTotal);
  function ruleText() {
    var threshold = ruleForm.threshold_percent.value;
    return (threshold === "100" ? "every statement of a level met" : threshold + "% of a level's statements met") +
      (ruleForm.require_lower_levels.checked ? ", lower levels first" : "");
  }
  confirmForm(ruleForm,
    function () { return "Apply “" + ruleText() + "” to all " + plural(learnerCount, "learner", "learners") + "?"; },
    function () { return "Every learner's levels are recomputed under this rule: some may gain a level, others lose one (and its credential is then revoked). To go back, apply the earlier rule again."; },
    "Apply to every learner", false,
    function () {
      return { kind: "rule", threshold: ruleForm.threshold_percent.value, lower: ruleForm.require_lower_levels.checked, rule: ruleText(), held: achievedNow() };
    });

  document.querySelectorAll("form.revoke").forEach(function (form) {
    var what = form.dataset.level + " of " + form.dataset.learner;
    confirmForm(form,
      function () { return "Revoke " + what + "?"; },
      function () { return "Employers who check it will see it is revoked, with your reason: “" + form.reason.value.trim() + "”. This cannot be undone."; },
      "Revoke", true,
      function () { return { kind: "revoke", credential: form.closest("tr").dataset.credential, what: what }; });
  });

  function sayAfterReload() {
    var done = null;
    try {
      done = JSON.parse(sessionStorage.getItem(AFTER_RELOAD) || "null");
      sessionStorage.removeItem(AFTER_RELOAD);
    } catch (ignored) { return; }
    if (!done) { return; }
    if (done.kind === "revoke") {
      var row = document.querySelector('tr[data-credential="' + done.credential + '"]');
      if (row && row.hasAttribute("data-revoked")) { say("Revoked " + done.what + "."); }
    } else if (done.kind === "rule" && ruleForm.threshold_percent.value === done.threshold && ruleForm.require_lower_levels.checked === done.lower) {
      var held = achievedNow(), gained = 0, lost = 0;
      Object.keys(held).forEach(function (id) {
        var was = done.held[id] || [];
        if (held[id].some(function (k) { return was.indexOf(k) === -1; })) { gained += 1; }
        if (was.some(function (k) { return held[id].indexOf(k) === -1; })) { lost += 1; }
      });
      say("Rule applied to every learner: a level is achieved with " + done.rule + ". " +
        (gained || lost ? plural(gained, "learner", "learners") + " gained a level, " + lost + " lost one." : "No learner's levels changed."));
    }
  }

  table.addEventListener("focusin", function (event) {
    var target = targetOf(event.target);
    if (target && target !== current) { if (current) { current.tabIndex = -1; } current = target; target.tabIndex = 0; }
  });

  // CSV downloads go through fetch with the launch's headers (a cookieless launch has no cookie
  // for a plain link to carry), then are saved from a blob.
  document.querySelectorAll("a[data-download]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      say("Preparing " + link.dataset.download + "…");
      fetch(link.pathname, {
        credentials: "same-origin",
        headers: { "X-LTI-Launch-Id": launchId, "X-CSRFToken": csrf, "Accept": "text/csv" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("The server answered " + response.status); }
        return response.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = link.dataset.download;
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
        say("Downloaded " + link.dataset.download + ".");
      }).catch(function (error) { say("Not downloaded: " + error.message); });
    });
  });

  // While the LMS's class list is being read (the worker's roster sync), ask the server now and
  // then whether it is done, more rarely as time goes by, for a while. Then a page with no learner
  // yet shows the updated one by itself; a page with learners (someone may be typing in a dialog)
  // says so in its status line and shows the link to the updated page below it.
  var roster = document.getElementById("roster-status");
  var rosterShow = document.getElementById("roster-show");
  var ROSTER_FIRST_DELAY_MS = 2000;
  var ROSTER_MAX_DELAY_MS = 10000;
  var ROSTER_GIVE_UP_MS = 120000;

  function timeElement(iso) {
    var time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = WHEN.format(new Date(iso));
    return time;
  }

  // The status line's words (and times), written only when they change: it is a live region.
  function rosterSays(parts) {
    var text = parts.map(function (part) { return typeof part === "string" ? part : part.textContent; }).join("");
    if (roster.textContent !== text) { roster.replaceChildren.apply(roster, parts); }
  }

  // As the server words it on the page (assessment/grid.html), "Reload…" replaced while followed.
  function showRoster(state, following) {
    var failed = state.problem ? " The last try to read it failed (" + state.problem + ")" + (state.syncing ? "; it will be tried again." : ".") : "";
    if (state.syncing) {
      var next = !following ? "Reload the page in a moment to see it." :
        learnerCount ? "This line will say when it is done." : "The grid will appear here once it is read.";
      rosterSays(["Updating the class list from the LMS… " + next + failed]);
    } else if (state.problem) {
      rosterSays(state.as_of ? ["Class list from the LMS as of ", timeElement(state.as_of), "." + failed] : [failed.trim()]);
    } else {
      rosterSays(state.as_of ? ["The class list was updated from the LMS as of ", timeElement(state.as_of), "."] : ["The class list was updated from the LMS."]);
      rosterShow.hidden = false;
    }
  }

  // The link to the same page, as the page wrote it: a form posting the token when cookieless.
  function openUpdatedPage() {
    var form = rosterShow.querySelector("form");
    if (form) { form.submit(); } else { location.replace(rosterShow.querySelector("a").href); }
  }

  function followRoster() {
    var started = Date.now();
    var delay = ROSTER_FIRST_DELAY_MS;
    var last = null;  // the latest answer (none yet: the page's own words stay)
    function ask() {
      api("GET", roster.dataset.follow).then(function (state) {
        last = state;
        if (state.syncing) { return false; }
        showRoster(state, true);
        if (!state.problem && !learnerCount) { openUpdatedPage(); }
        return true;
      }, function () { return false; }).then(function (done) {
        if (done) { return; }
        var givingUp = Date.now() - started + delay > ROSTER_GIVE_UP_MS;
        if (last) { showRoster(last, !givingUp); }
        if (givingUp) { return; }
        setTimeout(ask, delay);
        delay = Math.min(delay * 1.5, ROSTER_MAX_DELAY_MS);
      });
    }
    ask();
  }

  var first = table.querySelector("tbody button.cell") || table.querySelector("tbody th.learner");
  if (first) { first.tabIndex = 0; current = first; }
  if (roster && roster.dataset.follow) { followRoster(); }
  sayAfterReload();
  // For the bench (bench/grid.py): when the grid became usable, from the start of navigation.
  if (window.performance && performance.mark) { performance.mark("grid-interactive"); }
})();
