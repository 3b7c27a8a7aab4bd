// nrr serve: the filter bar reloads the page with the new query parameters; figures given as
// JSON are drawn; <body data-ready="1"> once every chart on the page is drawn.
(function () {
  "use strict";

  var form = document.getElementById("filters");
  if (form) {
    var filter = document.getElementById("filter");
    var value = document.getElementById("value");
    var values = JSON.parse(document.getElementById("filter-values").textContent);

    var submit = function () {
      // Empty or disabled fields stay out of the URL, so it names only what was chosen.
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value === "") { el.disabled = true; }
      });
      form.submit();
    };
    filter.addEventListener("change", function () {
      while (value.firstChild) { value.removeChild(value.firstChild); }
      (values[filter.value] || []).forEach(function (v) {
        var option = document.createElement("option");
        option.value = v;
        option.textContent = v;
        value.appendChild(option);
      });
      value.disabled = filter.value === "";
      submit();
    });
    ["end", "window", "by", "fx-mode", "value"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("change", submit); }
    });
  }

  var drawn = [];
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var data = el.parentNode.querySelector(".nrr-figure-data");
    if (!data || !window.Plotly) { return; }
    var spec = JSON.parse(data.textContent);
    var layout = Object.assign({}, spec.figure.layout || {}, { autosize: true });
    drawn.push(Plotly.newPlot(el, spec.figure.data || [], layout, spec.config || {}));
  });

  // The report's sections draw their own charts from inline scripts as the page is parsed;
  // wait until each chart container holds a drawn plot.
  var charts = function () { return document.querySelectorAll(".chart"); };
  var allDrawn = function () {
    return Array.prototype.every.call(charts(), function (c) {
      return c.querySelector(".main-svg") !== null;
    });
  };
  var ready = function () { document.body.setAttribute("data-ready", "1"); };
  Promise.all(drawn).then(function () {
    var waited = 0;
    (function poll() {
      if (allDrawn() || waited > 20000 || !window.Plotly) { ready(); return; }
      waited += 50;
      setTimeout(poll, 50);
    })();
  }, ready);
})();
