// Submitting and following a problem: conveniences on top of pages that work without them.
// - "Near me": asks the browser for the position only when the resident taps the button, then
//   opens the form with the nearest platforms (?lat=&lon=, rounded to about 100 m).
// - Photos: says at once when too many or too large are chosen, before anything is sent.
// - The receipt's copy button copies the tracking link (the link is on the page as text too).
(function () {
  "use strict";

  function text(el, message) {
    if (el) { el.textContent = message; }
  }

  var near = document.querySelector("[data-near]");
  if (near && "geolocation" in navigator) {
    near.hidden = false;
    var button = near.querySelector("[data-near-button]");
    var status = near.querySelector("[data-near-status]");
    button.addEventListener("click", function () {
      button.disabled = true;
      text(status, near.getAttribute("data-locating") || "正在确定您的位置…");
      navigator.geolocation.getCurrentPosition(function (position) {
        var url = new URL(button.getAttribute("data-near-url"), window.location.href);
        url.searchParams.set("lat", position.coords.latitude.toFixed(3));
        url.searchParams.set("lon", position.coords.longitude.toFixed(3));
        window.location.assign(url.toString());
      }, function () {
        button.disabled = false;
        text(status, near.getAttribute("data-failed") ||
             "没有取得您的位置。请选择所在区，或输入街道、社区名称查找。");
      }, {enableHighAccuracy: false, timeout: 15000, maximumAge: 300000});
    });
  }

  var form = document.querySelector("[data-submit-form]");
  if (form && form.elements.photos) {
    var input = form.elements.photos;
    var photoStatus = form.querySelector("[data-photo-status]");
    var maxCount = parseInt(form.getAttribute("data-max-photos"), 10) || 3;
    var maxBytes = parseInt(form.getAttribute("data-max-photo-bytes"), 10) || 8388608;
    var maxTotal = parseInt(form.getAttribute("data-max-total-bytes"), 10) || 0;
    var problem = function () {
      var files = Array.prototype.slice.call(input.files || []);
      if (files.length > maxCount) {
        return form.getAttribute("data-too-many") || ("最多上传 " + maxCount + " 张照片");
      }
      var total = 0;
      for (var i = 0; i < files.length; i += 1) {
        if (files[i].size > maxBytes) {
          return (form.getAttribute("data-too-large") || "第 {n} 张照片太大，请缩小后再上传")
            .replace("{n}", String(i + 1));
        }
        total += files[i].size;
      }
      // Past the server's request limit nothing would be read, the typed text included.
      if (maxTotal && total > maxTotal) {
        return form.getAttribute("data-too-much") || "照片合计太大，请少选一张或缩小后再上传";
      }
      return "";
    };
    input.addEventListener("change", function () { text(photoStatus, problem()); });
    form.addEventListener("submit", function (event) {
      var message = problem();
      if (message) {
        event.preventDefault();
        text(photoStatus, message);
        input.focus();
      }
    });
  }

  var copy = document.querySelector("[data-copy]");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    var copyStatus = document.querySelector("[data-copy-status]");
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        text(copyStatus, copy.getAttribute("data-copied"));
      }, function () {
        text(copyStatus, copy.getAttribute("data-copy-failed"));
      });
    });
  }
}());
