/* Live alarm board: htmx polls the rows every few seconds; the live feed's websocket, when it
   connects, asks for a refresh at once. New critical or life-safety alarms flash and, once the
   user has switched sound on (browsers allow audio only after a click), beep via Web Audio. */
(function () {
  "use strict";

  var board = document.getElementById("alarm-board");
  if (!board) return;
  var soundButton = document.getElementById("alarm-sound");
  var audio = null;
  var known = null; // ids of urgent alarms already shown; null until the first look
  var baseTitle = document.title;

  function urgentIds() {
    var ids = {};
    board.querySelectorAll("tr[data-urgent='1']").forEach(function (row) { ids[row.dataset.alarm] = row; });
    return ids;
  }

  function beep() {
    if (!audio) return;
    // Three short tones; an oscillator needs no sound file.
    [0, 0.3, 0.6].forEach(function (offset) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + offset);
      osc.stop(audio.currentTime + offset + 0.18);
    });
  }

  var freshSince = {}; // id -> when it first appeared; rows keep flashing for a while across refreshes
  var FLASH_MS = 20000;

  function noticeNew() {
    var now = urgentIds();
    var arrived = 0;
    var clock = Date.now();
    Object.keys(now).forEach(function (id) {
      if (known !== null && !known[id] && !freshSince[id]) {
        freshSince[id] = clock;
        arrived += 1;
      }
      if (freshSince[id] && clock - freshSince[id] < FLASH_MS) now[id].classList.add("fresh");
    });
    known = now;
    var count = Object.keys(now).length;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
    if (arrived) beep();
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      if (audio) {
        audio.close();
        audio = null;
      } else {
        var Context = window.AudioContext || window.webkitAudioContext;
        if (Context) audio = new Context();
      }
      soundButton.setAttribute("aria-pressed", audio ? "true" : "false");
      soundButton.textContent = audio ? soundButton.dataset.on : soundButton.dataset.off;
    });
  }

  // A refresh would throw away a half-chosen assignee or an open menu: wait until the user is done.
  board.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt !== board) return;
    var active = document.activeElement;
    if (active && board.contains(active) && active.matches("select, input, textarea")) event.preventDefault();
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === board) noticeNew();
  });
  // The action views answer a refusal with 400 and a message for the flash area: show it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "board-flash" && event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  noticeNew();

  var feedUrl = board.dataset.feedUrl;
  if (!feedUrl || !window.WebSocket) return;
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + feedUrl);
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data && data.type === "alarm" && window.htmx) window.htmx.trigger(document.body, "feed-alarm");
    };
    socket.onclose = function () {
      // Polling carries on meanwhile; try the socket again, less and less often.
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    };
  }
  connect();
})();
