// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "captionStyle": "flattened",
  "newId": "7452000000000000201",
  "listDelayMs": 1200,
  "uploadMs": 2000,
  "seedPosts": [
    {
      "id": "7300000000000000101",
      "text": "Morning run by the river 🏃\nDay 1 of 30 #running"
    },
    {
      "id": "7300000000000000102",
      "text": "The very first video"
    }
  ]
};
