// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "newId": "7452000000000000301",
  "listDelayMs": 1500,
  "processingMs": 2500,
  "uploadMs": 2000,
  "seedPosts": [
    {
      "id": "7300000000000000301",
      "text": "Behind the scenes at the studio, episode 11: sound check #bts"
    },
    {
      "id": "7300000000000000302",
      "text": "Behind the scenes at the studio, episode 10"
    },
    {
      "id": "7300000000000000303",
      "text": "The very first video"
    }
  ]
};
