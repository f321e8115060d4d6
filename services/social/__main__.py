from services.social.bootstrap import main

main()
