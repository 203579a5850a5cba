// Residents' pages: a filter select applies itself when changed. Without this file, the form's
// button does the same, so nothing depends on it.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (!target.matches || !target.matches("select[data-autosubmit]") || !target.form) {
    return;
  }
  // A street from another district means nothing: drop it when the district changes.
  if (target.name === "district" && target.form.elements.street) {
    target.form.elements.street.value = "";
  }
  if (target.form.requestSubmit) {
    target.form.requestSubmit();
  } else {
    target.form.submit();
  }
});
