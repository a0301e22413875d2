// PortalOps pickers: search-as-you-type for the fields that choose a person or a product.
// Progressive enhancement: without this script every field is a plain select, email
// field or list and works as it is. Fields opt in with data-pick="people" or "products";
// data-pick-role limits people to a role, data-pick-left="1" includes those who left, and
// data-pick-use="id" puts a person's id (not their email) into a text field.
(function () {
  "use strict";
  var seq = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }

  // A search box with a list of matches under it; `choose(item)` is called with the one
  // picked (click, or arrows then Enter).
  // `browse`: the box stands in for a select, so it lists matches on focus and says when
  // nothing matches; a free-text field (an email that may be new) only suggests.
  function searchBox(input, source, browse, choose) {
    var id = "pick-" + (++seq);
    var list = el("ul", { id: id + "-list", role: "listbox", "class": "picker-list", hidden: "" });
    var wrap = el("div", { "class": "picker" });
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    var items = [], active = -1, timer = null, latest = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, n) {
        li.setAttribute("aria-selected", n === i ? "true" : "false");
        if (n === i) { input.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
      });
    }
    function pick(i) {
      if (i < 0 || i >= items.length) { return; }
      choose(items[i]);
      close();
    }
    function show(answer) {
      items = answer.items || [];
      var typed = input.value.trim().toLowerCase();
      // Nothing to suggest, or exactly what was typed: out of the way of the form.
      if (!browse && (!items.length || (items.length === 1 && items[0].value.toLowerCase() === typed))) {
        close();
        return;
      }
      list.textContent = "";
      items.forEach(function (item, n) {
        var li = el("li", { id: id + "-" + n, role: "option", "aria-selected": "false" });
        li.appendChild(el("span", { "class": "picker-label" }, item.label));
        if (item.detail) { li.appendChild(el("span", { "class": "picker-detail" }, item.detail)); }
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(n); });
        list.appendChild(li);
      });
      if (!items.length) {
        list.appendChild(el("li", { "class": "picker-none", "aria-disabled": "true" }, "No match in your scope."));
      } else if (answer.more) {
        list.appendChild(el("li", { "class": "picker-none", "aria-disabled": "true" }, "More match: type more to narrow them."));
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }
    function search() {
      var mine = ++latest;
      var url = source + (source.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (answer) { if (mine === latest && document.activeElement === input) { show(answer); } })
        .catch(close);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    if (browse) { input.addEventListener("focus", search); }
    // A pending answer arriving after the list was closed does not open it again.
    input.addEventListener("blur", function () { latest++; setTimeout(close, 100); });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) {
        if (ev.key === "ArrowDown") { search(); ev.preventDefault(); }
        return;
      }
      if (ev.key === "ArrowDown") { mark(Math.min(active + 1, items.length - 1)); ev.preventDefault(); }
      else if (ev.key === "ArrowUp") { mark(Math.max(active - 1, 0)); ev.preventDefault(); }
      else if (ev.key === "Enter" && active >= 0) { pick(active); ev.preventDefault(); }
      else if (ev.key === "Escape") { latest++; close(); ev.preventDefault(); }
    });
    return wrap;
  }

  function sourceOf(field) {
    var kind = field.dataset.pick;
    var url = "/pick/" + (kind === "products" ? "products" : "people");
    var params = [];
    if (field.dataset.pickRole) { params.push("role=" + encodeURIComponent(field.dataset.pickRole)); }
    if (field.dataset.pickLeft === "1") { params.push("left=1"); }
    return params.length ? url + "?" + params.join("&") : url;
  }

  // The option of `select` for `item`, added when the page did not list it.
  function optionFor(select, item) {
    var value = String(item.id);
    var found = Array.prototype.find.call(select.options, function (o) { return o.value === value; });
    if (!found) {
      found = new Option(item.detail ? item.label + " (" + item.value + ")" : item.label, value);
      select.appendChild(found);
    }
    return found;
  }

  // A search box that stands in for `select`, which stays in the form (hidden) and is what
  // is submitted; the label points at the box.
  function boxFor(select, placeholder) {
    var box = el("input", { type: "text", id: select.id + "-search", placeholder: placeholder, "class": "picker-input" });
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    if (label) { label.setAttribute("for", box.id); }
    if (select.getAttribute("aria-describedby")) { box.setAttribute("aria-describedby", select.getAttribute("aria-describedby")); }
    if (select.getAttribute("aria-invalid")) { box.setAttribute("aria-invalid", select.getAttribute("aria-invalid")); }
    select.parentNode.insertBefore(box, select);
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    return box;
  }

  function enhanceSingle(select) {
    var box = boxFor(select, "Type to search…");
    var chosen = select.options[select.selectedIndex];
    if (chosen && chosen.value) { box.value = chosen.textContent; }
    searchBox(box, sourceOf(select), true, function (item) {
      optionFor(select, item).selected = true;
      box.value = item.label;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // A cleared box clears the choice.
    box.addEventListener("change", function () { if (!box.value.trim()) { select.value = ""; } });
  }

  function enhanceMultiple(select) {
    var box = boxFor(select, "Type to search, then choose…");
    var chips = el("ul", { "class": "picker-chips", "aria-label": "Chosen", "aria-live": "polite" });
    function render() {
      chips.textContent = "";
      Array.prototype.forEach.call(select.options, function (o) {
        if (!o.selected) { return; }
        var li = el("li", {}, o.textContent + " ");
        var remove = el("button", { type: "button", "class": "picker-remove", "aria-label": "Remove " + o.textContent }, "×");
        remove.addEventListener("click", function () { o.selected = false; render(); box.focus(); });
        li.appendChild(remove);
        chips.appendChild(li);
      });
      chips.hidden = !chips.children.length;
    }
    var wrap = searchBox(box, sourceOf(select), true, function (item) {
      optionFor(select, item).selected = true;
      box.value = "";
      render();
    });
    wrap.parentNode.insertBefore(chips, wrap);
    render();
  }

  function enhanceText(input) {
    var useId = input.dataset.pickUse === "id";
    searchBox(input, sourceOf(input), false, function (item) {
      input.value = useId ? String(item.id) : item.value;
    });
  }

  // A list (one email per line) gets a search box above it that adds the one chosen.
  function enhanceList(area) {
    var box = el("input", { type: "text", id: area.id + "-search", placeholder: "Add someone by name or email…", "class": "picker-input", "aria-label": "Add someone to the list by name or email" });
    area.parentNode.insertBefore(box, area);
    searchBox(box, sourceOf(area), false, function (item) {
      var lines = area.value.split(/\r?\n/).filter(function (l) { return l.trim() !== ""; });
      var have = lines.some(function (l) { return l.trim().toLowerCase() === item.value.toLowerCase(); });
      if (!have) { lines.push(item.value); }
      area.value = lines.join("\n") + "\n";
      box.value = "";
    });
  }

  function enhance(field) {
    if (field.dataset.pickReady) { return; }
    field.dataset.pickReady = "1";
    if (field.tagName === "SELECT") { (field.multiple ? enhanceMultiple : enhanceSingle)(field); }
    else if (field.tagName === "TEXTAREA") { enhanceList(field); }
    else { enhanceText(field); }
  }

  function start() {
    if (!window.fetch) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-pick]"), enhance);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
