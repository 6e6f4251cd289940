/* Loa maps over Leaflet (vendored): a pin to place ([data-map-picker]) or to show ([data-map-view]).
   Tiles only when the installation configures a tile server (data-tiles); otherwise the map is a blank area where a
   tap places the pin, and the coordinate inputs stay the truth: typing numbers moves the pin, the pin writes them.
   A placed pin fires `loa:pin` (bubbling) on its fieldset, for pages that react to the place (duplicates nearby). */
(function () {
  "use strict";

  var DECIMALS = 6;
  var ZOOM_PIN = 16;
  var ZOOM_AREA = 13;

  function number(value) {
    var parsed = parseFloat(value);
    return isFinite(parsed) ? parsed : null;
  }

  function tileLayer(url) {
    var attribution = /openstreetmap\.org/.test(url)
      ? '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>' : "";
    return L.tileLayer(url, { maxZoom: 19, attribution: attribution });
  }

  function baseMap(element, still) {
    var tiles = element.getAttribute("data-tiles") || (element.closest("[data-tiles]") || element).getAttribute("data-tiles");
    var options = { attributionControl: Boolean(tiles), zoomControl: !still };
    if (still) {  // a picture of the place: nothing to do with it but look (and nothing to focus)
      options.dragging = options.keyboard = options.scrollWheelZoom = options.doubleClickZoom = false;
      options.touchZoom = options.boxZoom = false;
    }
    var map = L.map(element, options);
    if (tiles) tileLayer(tiles).addTo(map);
    return map;
  }

  function markerOptions(label, draggable) {
    return { draggable: draggable, keyboard: draggable, interactive: draggable, alt: label, title: label };
  }

  function initView(element) {
    var lat = number(element.getAttribute("data-lat"));
    var lon = number(element.getAttribute("data-lon"));
    if (lat === null || lon === null) return;
    var map = baseMap(element, true);
    map.setView([lat, lon], ZOOM_PIN);
    L.marker([lat, lon], markerOptions(element.getAttribute("data-marker-label") || "", false)).addTo(map);
  }

  function initPicker(fieldset) {
    var element = fieldset.querySelector("[data-map]");
    var latInput = document.getElementById(fieldset.getAttribute("data-lat-input"));
    var lonInput = document.getElementById(fieldset.getAttribute("data-lon-input"));
    var status = fieldset.querySelector("[data-map-status]");
    var place = fieldset.querySelector("[data-map-place]");
    if (!element || !latInput || !lonInput) return;
    var map = baseMap(element, false);
    var marker = null;
    var placeTimer = null;
    var centre = (fieldset.getAttribute("data-center") || "").split(",").map(number);

    function say(key) {
      if (status) status.textContent = key ? fieldset.getAttribute("data-msg-" + key) || "" : "";
    }

    function describe(lat, lon) {
      if (!place) return;
      window.clearTimeout(placeTimer);
      placeTimer = window.setTimeout(function () {
        fetch("/places/nearest?lat=" + encodeURIComponent(lat) + "&lon=" + encodeURIComponent(lon),
              { headers: { "Accept": "text/html" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : ""; })
          .then(function (html) { place.innerHTML = html; })
          .catch(function () { place.textContent = ""; });
      }, 250);
    }

    function announce(lat, lon) {
      describe(lat, lon);
      fieldset.dispatchEvent(new CustomEvent("loa:pin", { bubbles: true, detail: { lat: lat, lon: lon } }));
    }

    function put(lat, lon, options) {
      options = options || {};
      if (!marker) {
        marker = L.marker([lat, lon], markerOptions(fieldset.getAttribute("data-marker-label") || "", true)).addTo(map);
        marker.on("dragend", function () {
          var at = marker.getLatLng();
          write(at.lat, at.lng);
        });
      } else {
        marker.setLatLng([lat, lon]);
      }
      if (options.pan) map.setView([lat, lon], Math.max(map.getZoom() || 0, ZOOM_PIN));
    }

    function write(lat, lon) {
      latInput.value = lat.toFixed(DECIMALS);
      lonInput.value = lon.toFixed(DECIMALS);
      put(lat, lon);
      announce(lat, lon);
    }

    function fromInputs() {
      var lat = number(latInput.value);
      var lon = number(lonInput.value);
      if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return;
      put(lat, lon, { pan: true });
      announce(lat, lon);
    }

    var lat0 = number(latInput.value);
    var lon0 = number(lonInput.value);
    if (lat0 !== null && lon0 !== null) {
      map.setView([lat0, lon0], ZOOM_PIN);
      put(lat0, lon0);
      describe(lat0, lon0);
    } else {
      map.setView(centre.length === 2 && centre[0] !== null ? centre : [21.0285, 105.8542], ZOOM_AREA);
    }

    map.on("click", function (event) { say(null); write(event.latlng.lat, event.latlng.lng); });
    latInput.addEventListener("change", fromInputs);
    lonInput.addEventListener("change", fromInputs);

    var middle = fieldset.querySelector("[data-map-center]");
    if (middle) middle.addEventListener("click", function () {
      var at = map.getCenter();
      say(null);
      write(at.lat, at.lng);
    });

    var locate = fieldset.querySelector("[data-map-locate]");
    if (locate) locate.addEventListener("click", function () {
      if (!("geolocation" in navigator)) { say("unsupported"); return; }
      say("locating");
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        locate.disabled = false;
        write(position.coords.latitude, position.coords.longitude);
        map.setView([position.coords.latitude, position.coords.longitude], ZOOM_PIN);
        say("found");
      }, function (error) {
        locate.disabled = false;
        say(error && error.code === 1 ? "denied" : "unavailable");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    // A map drawn while hidden (a closed <details>) has no size: measure again once it shows.
    var details = fieldset.closest("details");
    if (details) details.addEventListener("toggle", function () { if (details.open) map.invalidateSize(); });
  }

  function init(root) {
    if (typeof L === "undefined" || !root || !root.querySelectorAll) return;
    L.Icon.Default.imagePath = "/static/vendor/leaflet/images/";
    each(root, "[data-map-picker]:not([data-map-ready])", initPicker);
    each(root, "[data-map-view]:not([data-map-ready])", initView);
  }

  function each(root, selector, fn) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    found.forEach(function (element) { element.setAttribute("data-map-ready", ""); fn(element); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  // Parts of pages swapped in by htmx (a form shown again with its errors) get their maps too.
  document.addEventListener("htmx:load", function (event) { init(event.detail && event.detail.elt); });
})();
