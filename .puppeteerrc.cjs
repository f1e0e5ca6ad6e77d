// whatsapp-web.js drives Chromium through puppeteer. Never download a browser on install:
// Tocsin uses the system's Chromium (WHATSAPP_CHROMIUM_PATH, default /usr/bin/chromium).
module.exports = { skipDownload: true };
