// Settings for the shared Facebook fixture (see e2e/fixtures/www.facebook.com/fb-app.js).
window.CLAW_FB_FIXTURE = {
  "loggedIn": true,
  "submit": "ok",
  "emojiImages": true,
  "toast": "published",
  "nextPostUrl": "https://www.facebook.com/clawtest/posts/pfbid0EmojiRend3redAsImag3s7kQ2xWc9mYbTr8uPz5LsDf1HgJa6oQnRv4tBy9eUw",
  "earlierPosts": [
    {
      "text": "Shipping day 🚀🎉\n\nClaw Post 1.3 is out: https://clawpost.net/blog/1.3 #release",
      "url": "https://www.facebook.com/clawtest/posts/pfbid0EarlierShippingDay13xQ2WmYbTr8uPz5LsDf1HgJa6oQnR"
    }
  ]
};
