// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "newId": "7452000000000000402",
  "listDelayMs": 1000,
  "processingMs": 1000,
  "uploadMs": 2000,
  "seedPosts": [
    {
      "id": "7300000000000000401",
      "text": "Weekly recap 🎬 #clawpost"
    },
    {
      "id": "7300000000000000402",
      "text": "Weekly recap 🎬"
    }
  ]
};
