// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "lang": "ja",
  "postNow": true,
  "overlays": [
    "contentCheck"
  ],
  "newId": "7452000000000000701",
  "listDelayMs": 1000,
  "processingMs": 1000,
  "uploadMs": 2000,
  "seedPosts": [
    {
      "id": "7300000000000000701",
      "text": "東京の夜景をタイムラプスで撮影しました（前編）"
    },
    {
      "id": "7300000000000000702",
      "text": "はじめての動画"
    }
  ]
};
