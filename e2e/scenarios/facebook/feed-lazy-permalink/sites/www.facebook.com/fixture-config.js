// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "permalinks": "lazy",
  "toast": "published",
  "nextPostUrl": "https://www.facebook.com/clawtest/posts/pfbid02LazyPermaLink7kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnRv4tBy9eUw3iZkMx",
  "earlierPosts": [
    {
      "text": "An older post with its own lazy permalink.",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0OlderLazyPost5kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnR"
    }
  ]
};
