// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "lang": "ja",
  "composer": "both",
  "earlierPosts": [
    {
      "id": "1790000000000000477",
      "text": "同じ内容はもうポスト済み"
    },
    {
      "id": "1790000000000000476",
      "text": "同じ内容はもうポスト済み（下書き）"
    }
  ]
};
