// The evaluator grid: keyboard navigation over cells (roving tabindex), judging through the JSON
// API, bulk row/column actions, a dialog for comment, evidence and history.
(function () {
  "use strict";
  var meta = function (name) { return document.querySelector('meta[name="' + name + '"]').content; };
  var launchId = meta("launch-id");
  var csrf = meta("csrf-token");
  var table = document.querySelector("table.grid");
  if (!table) { return; }
  var status = document.getElementById("grid-status");
  var dialog = document.getElementById("cell-dialog");
  var LABELS = { met: "✓ Met", not_yet: "✗ Not yet" };
  var current = null;

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

  function say(text) { status.textContent = text; }
  function cells() { return Array.prototype.slice.call(table.querySelectorAll("tbody tr:not([hidden]) button.cell")); }
  function learnerName(id) { return document.getElementById("l-" + id).textContent; }
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

  function paint(cell, verdict) {
    cell.dataset.verdict = verdict === "clear" ? "" : verdict;
    cell.className = "cell " + cell.dataset.verdict;
    if (LABELS[verdict]) {
      cell.textContent = LABELS[verdict];
    } else {
      cell.innerHTML = '<span aria-hidden="true">·</span><span class="visually-hidden">Not judged</span>';
    }
  }

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
    var button = table.querySelector('button.bulk.row[data-level="' + key + '"]');
    return button ? button.textContent.split(":")[0] : key;
  }

  function judge(targets, verdict, extra) {
    if (!targets.length) { return Promise.resolve(); }
    var items = targets.map(function (cell) {
      var item = { learner_id: Number(learnerOf(cell)), statement_id: Number(cell.dataset.statement), verdict: verdict };
      if (extra) { item.comment = extra.comment || null; item.evidence_url = extra.evidence_url || null; }
      return item;
    });
    say("Saving…");
    return api("POST", "/api/v1/judgements", { judgements: items }).then(function (result) {
      targets.forEach(function (cell) { paint(cell, verdict); });
      var messages = showLevels(result);
      say((targets.length === 1 ? "Saved." : "Saved " + targets.length + " judgements.") + (messages.length ? " " + messages.join(" ") : ""));
    }).catch(function (error) { say("Not saved: " + error.message); throw error; });
  }

  function historyItem(entry) {
    var li = document.createElement("li");
    var when = new Date(entry.judged_at).toLocaleString();
    li.textContent = (LABELS[entry.verdict] || "Cleared") + " — " + entry.judged_by + ", " + when +
      (entry.comment ? ": " + entry.comment : "") + (entry.evidence_url ? " (evidence: " + entry.evidence_url + ")" : "");
    return li;
  }

  function openDialog(cell) {
    var form = document.getElementById("cell-form");
    form.reset();
    document.getElementById("cell-error").textContent = "";
    var statement = document.getElementById("s-" + cell.dataset.statement).querySelector(".statement-text").title;
    document.getElementById("cell-dialog-about").textContent = learnerName(learnerOf(cell)) + " — " + statement;
    var checked = form.querySelector('input[name="verdict"][value="' + (cell.dataset.verdict || "clear") + '"]');
    if (checked) { checked.checked = true; }
    var list = document.getElementById("cell-history");
    list.innerHTML = "<li>Loading…</li>";
    api("GET", "/api/v1/judgements?learner_id=" + learnerOf(cell) + "&statement_id=" + cell.dataset.statement)
      .then(function (data) {
        list.innerHTML = "";
        if (!data.judgements.length) { list.innerHTML = "<li>Never judged.</li>"; }
        data.judgements.forEach(function (entry) { list.appendChild(historyItem(entry)); });
      }).catch(function (error) { list.innerHTML = ""; list.appendChild(document.createTextNode(error.message)); });
    dialog.returnValue = "";
    dialog.showModal();
    form.onsubmit = function (event) {
      if (event.submitter && event.submitter.value === "cancel") { return; }
      event.preventDefault();
      var verdict = form.querySelector('input[name="verdict"]:checked').value;
      judge([cell], verdict, { comment: form.comment.value.trim(), evidence_url: form.evidence_url.value.trim() })
        .then(function () { dialog.close(); focusCell(cell); })
        .catch(function (error) { document.getElementById("cell-error").textContent = error.message; });
    };
    dialog.onclose = function () { focusCell(cell); };
  }

  function move(cell, dx, dy) {
    var row = cell.closest("tr");
    var rowCells = Array.prototype.slice.call(row.querySelectorAll("button.cell"));
    var x = rowCells.indexOf(cell);
    if (dy === 0) { return rowCells[Math.max(0, Math.min(rowCells.length - 1, x + dx))]; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr:not([hidden])"));
    var y = rows.indexOf(row) + dy;
    if (y < 0 || y >= rows.length) { return cell; }
    return rows[y].querySelectorAll("button.cell")[x];
  }

  table.addEventListener("keydown", function (event) {
    var cell = event.target.closest("button.cell");
    if (!cell) { return; }
    var key = event.key;
    var row = Array.prototype.slice.call(cell.closest("tr").querySelectorAll("button.cell"));
    var target = null;
    if (key === "ArrowRight") { target = move(cell, 1, 0); }
    else if (key === "ArrowLeft") { target = move(cell, -1, 0); }
    else if (key === "ArrowDown") { target = move(cell, 0, 1); }
    else if (key === "ArrowUp") { target = move(cell, 0, -1); }
    else if (key === "Home") { target = row[0]; }
    else if (key === "End") { target = row[row.length - 1]; }
    else if (key === "m" || key === "M") { judge([cell], "met").catch(function () {}); }
    else if (key === "n" || key === "N") { judge([cell], "not_yet").catch(function () {}); }
    else if (key === "c" || key === "C" || key === "Delete" || key === "Backspace") { judge([cell], "clear").catch(function () {}); }
    else if (key === "Enter" || key === " ") { openDialog(cell); }
    else { return; }
    event.preventDefault();
    if (target) { focusCell(target); }
  });

  table.addEventListener("click", function (event) {
    var cell = event.target.closest("button.cell");
    if (cell) { focusCell(cell); openDialog(cell); return; }
    var bulk = event.target.closest("button.bulk");
    if (!bulk) { return; }
    var targets;
    if (bulk.classList.contains("row")) {
      targets = Array.prototype.slice.call(bulk.closest("tr").querySelectorAll("button.cell")).filter(function (c) {
        return levelOfStatement[c.dataset.statement] === bulk.dataset.level;
      });
    } else {
      targets = cells().filter(function (c) { return c.dataset.statement === bulk.dataset.statement; });
    }
    judge(targets, "met").catch(function () {});
  });

  table.addEventListener("focusin", function (event) {
    var cell = event.target.closest("button.cell");
    if (cell && cell !== current) { if (current) { current.tabIndex = -1; } current = cell; cell.tabIndex = 0; }
  });

  var filter = document.getElementById("learner-filter");
  filter.addEventListener("input", function () {
    var text = filter.value.trim().toLowerCase();
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      tr.hidden = text !== "" && tr.dataset.name.indexOf(text) === -1;
    });
    var shown = table.querySelectorAll("tbody tr:not([hidden])").length;
    say(shown + " learner" + (shown === 1 ? "" : "s") + " shown.");
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

  var first = table.querySelector("tbody button.cell");
  if (first) { first.tabIndex = 0; current = first; }
})();
